/**
 * `BACKOFF_SCALE`: the setting that compresses every backoff delay for local and fault-injection
 * runs (`npm run chaos`); read and checked in lib/config.ts, applied by `backoffSeconds` and, for
 * systemic failures and FIFO hand-backs, by `visibilitySeconds`.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { SYSTEMIC_BACKOFF, backoffSeconds } from '../../lib/delivery/backoff.js';
import { visibilitySeconds } from '../../lib/delivery/SettleStage.js';
import type { RecordResult } from '../../lib/delivery/types.js';

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

describe('BACKOFF_SCALE in a deployed function', () => {
  it('is refused where the Lambda runtime runs the function (AWS_EXECUTION_ENV), naming the setting: it would burn receives in seconds', () => {
    let error: unknown;
    try {
      loadConfig({ ...BASE_ENV, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', MAIL_ENVIRONMENT: 'prod', BACKOFF_SCALE: '0.02' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe('BACKOFF_SCALE');
    expect((error as ConfigError).message).toContain('AWS_Lambda_nodejs24.x');
  });

  it('is read in local runs (no AWS_EXECUTION_ENV, whatever AWS_LAMBDA_FUNCTION_NAME says), and 1 is taken anywhere', () => {
    expect(loadConfig({ ...BASE_ENV, AWS_LAMBDA_FUNCTION_NAME: 'send-mail-chaos', BACKOFF_SCALE: '0.02' }).backoffScale).toBe(0.02);
    expect(loadConfig({ ...BASE_ENV, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', MAIL_ENVIRONMENT: 'prod', BACKOFF_SCALE: '1' }).backoffScale).toBe(
      1,
    );
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

describe('visibilitySeconds with a scale', () => {
  it('scales the systemic backoff and the FIFO hand-back too', () => {
    const systemic: RecordResult = {
      messageId: 'm1',
      receiveCount: 2,
      outcome: { kind: 'systemic', reason: { phase: 'connect', message: 'refused' } },
      placement: 'retry',
    };
    const handedBack: RecordResult = {
      messageId: 'm2',
      receiveCount: 1,
      outcome: { kind: 'notAttempted', cause: 'fifoStopped' },
      placement: 'retry',
    };
    // Receive 2 of a systemic failure, no jitter: 360 s unscaled, so 3.6 s (4) at 1/100.
    expect(backoffSeconds(2, { ...SYSTEMIC_BACKOFF, random: () => 0 })).toBe(360);
    expect(visibilitySeconds(systemic, false, { random: () => 0, scale: 0.01 })).toBe(4);
    expect(visibilitySeconds(handedBack, true, { scale: 0.2 })).toBe(1);
    expect(visibilitySeconds(handedBack, true)).toBe(5);
  });
});
