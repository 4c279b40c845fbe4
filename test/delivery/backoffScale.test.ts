/**
 * `BACKOFF_SCALE`: the setting that compresses every backoff delay for local and fault-injection
 * runs (`npm run chaos`); read and checked in lib/config.ts, applied by `backoffSeconds` and, for
 * systemic failures, by `applyBackoff`.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { SYSTEMIC_BACKOFF, backoffSeconds } from '../../lib/delivery/backoff.js';
import type { VisibilityChange } from '../../lib/delivery/QueueActions.js';
import { applyBackoff } from '../../lib/delivery/settleRecord.js';
import type { BatchSlot, Delivery, RecordResult } from '../../lib/delivery/types.js';

const BASE_ENV = {
  SMTP_URL: 'smtp://127.0.0.1:2525?security=none',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail-dlq',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail',
};

describe('BACKOFF_SCALE in the configuration', () => {
  it('is absent unless set, and read as a number in (0, 1]', () => {
    expect(loadConfig(BASE_ENV).backoffScale).toBeUndefined();
    expect(loadConfig({ ...BASE_ENV, BACKOFF_SCALE: ' 0.05 ' }).backoffScale).toBe(0.05);
    expect(loadConfig({ ...BASE_ENV, BACKOFF_SCALE: '1' }).backoffScale).toBe(1);
  });

  it.each(['0', '1.5', '-0.1', 'fast', '1e-2', '.5'])('refuses %j, naming the setting', (value) => {
    let error: unknown;
    try {
      loadConfig({ ...BASE_ENV, BACKOFF_SCALE: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe('BACKOFF_SCALE');
  });
});

describe('backoffSeconds with a scale', () => {
  it('multiplies the delay and the cap', () => {
    const top = (): number => 0.999_999;
    expect(backoffSeconds(1, { random: top })).toBe(30);
    expect(backoffSeconds(1, { random: top, scale: 0.1 })).toBe(3);
    expect(backoffSeconds(3, { random: () => 0, scale: 0.1 })).toBe(6); // 60 s of 120 s, scaled
    expect(backoffSeconds(20, { random: top, scale: 0.1 })).toBe(90); // the 900 s cap, scaled
  });
});

describe('applyBackoff with a scale', () => {
  it('scales the systemic backoff too', async () => {
    const changes: VisibilityChange[] = [];
    const delivery: Pick<Delivery, 'actions'> = {
      actions: {
        delay: async (batch: readonly VisibilityChange[]) => {
          changes.push(...batch);
          return [];
        },
      } as unknown as Delivery['actions'],
    };
    const record = { messageId: 'm1', receiptHandle: 'h1', body: '{}', receiveCount: 2, requeueCount: 0 };
    const slots: BatchSlot[] = [{ prepared: { record, invalid: { phase: 'job', message: 'x' } } }];
    const results: RecordResult[] = [
      { messageId: 'm1', receiveCount: 2, outcome: { kind: 'systemic', reason: { phase: 'connect', message: 'refused' } }, placement: 'retry' },
    ];
    await applyBackoff(results, slots, delivery, { random: () => 0, scale: 0.01 });
    // Receive 2 of a systemic failure, no jitter: 360 s unscaled, so 3.6 s (4) at 1/100.
    expect(backoffSeconds(2, { ...SYSTEMIC_BACKOFF, random: () => 0 })).toBe(360);
    expect(changes.map((change) => change.seconds)).toEqual([Math.round(360 * 0.01)]);
    expect(results[0]!.backoffSeconds).toBe(4);
  });
});
