/**
 * The mail queue's retention against the function's own backoff: during a relay outage every
 * receive ends in a systemic failure and the function hides the job for up to 12 hours, so
 * the retention must outlast `maxReceiveCount` such receives, or jobs expire without ever
 * reaching the dead-letter queue. The check at synth uses the function's policy itself.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { InvalidEnvironmentConfigError, InvalidOutboundMailPropsError } from '../../infra/errors.js';
import { OutboundMail } from '../../infra/OutboundMail.js';
import type { OutboundMailProps } from '../../infra/OutboundMail.js';
import { addOutboundMailStacks } from '../../infra/outboundMailApp.js';
import { worstCaseRetrySeconds } from '../../infra/outboundMailSettings.js';
import { SYSTEMIC_BACKOFF, backoffSeconds, visibilityCapSeconds } from '../../lib/delivery/backoff.js';
import { cdkContext, testApp } from '../support/cdkApp.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq';

function mail(props: Partial<OutboundMailProps>): OutboundMail {
  const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN);
  return new OutboundMail(stack, 'Mail', { smtpSecret, ...props });
}

function refusal(props: Partial<OutboundMailProps>): InvalidOutboundMailPropsError {
  try {
    mail(props);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOutboundMailPropsError);
    return error as InvalidOutboundMailPropsError;
  }
  throw new Error(`accepted ${JSON.stringify(props)}`);
}

describe('retentionPeriod against the worst case of the function backoff', () => {
  it('refuses maxReceiveCount 14 with the default 4 days: an outage of 10 receives at 12 h outlasts it', () => {
    // Default timeout 60 s, visibility 360 s. Receives 1-4 of a systemic failure: the timeout plus
    // 180, 720, 2880, 11520 s (but never under the 360 s visibility); receives 5-14: SQS's 12 h cap.
    // 360 + 780 + 2940 + 11580 + 10 x 43200 = 447660 s.
    const error = refusal({ maxReceiveCount: 14 });
    // The retention is the default: the value given, maxReceiveCount, is the one at fault.
    expect(error.prop).toBe('maxReceiveCount');
    expect(error.message).toContain('14 receives');
    expect(error.message).toContain('447660 s (5.2 days) in the worst case');
    expect(error.message).toContain('the retentionPeriod is 345600 s (4 days, the default)');
    expect(error.message).toContain('lower maxReceiveCount to 11 or raise retentionPeriod above 447660 s');
    expect(error.message).toContain('x4 per receive');
  });

  it('blames an explicit retentionPeriod too short for the receives', () => {
    const error = refusal({ maxReceiveCount: 14, retentionPeriod: Duration.days(5) });
    expect(error.prop).toBe('retentionPeriod');
    expect(error.message).toContain('the retentionPeriod is 432000 s (5 days)');
    expect(error.message).toContain('lower maxReceiveCount to 13 or raise retentionPeriod above 447660 s');
  });

  it('names environments.NAME.maxReceiveCount of cdk.json (where the retention is always the default)', () => {
    const context = cdkContext();
    Object.assign((context['environments'] as Record<string, object>)['dev']!, { maxReceiveCount: 14 });
    let caught: unknown;
    try {
      addOutboundMailStacks(testApp(context));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEnvironmentConfigError);
    expect((caught as InvalidEnvironmentConfigError).key).toBe('environments.dev.maxReceiveCount');
    expect((caught as Error).message).toContain('lower maxReceiveCount to 11');
  });

  it('accepts the largest maxReceiveCount that fits and refuses the next one', () => {
    expect(() => mail({ maxReceiveCount: 11 })).not.toThrow();
    expect(refusal({ maxReceiveCount: 12 }).message).toContain('lower maxReceiveCount to 11');
    expect(() => mail({ maxReceiveCount: 12, retentionPeriod: Duration.seconds(361_261) })).not.toThrow();
  });

  it('accepts maxReceiveCount 14 with a retention longer than the worst case', () => {
    expect(() => mail({ maxReceiveCount: 14, retentionPeriod: Duration.seconds(447_661) })).not.toThrow();
    expect(refusal({ maxReceiveCount: 14, retentionPeriod: Duration.seconds(447_660) }).prop).toBe('retentionPeriod');
  });

  it('only suggests a lower maxReceiveCount when no retention SQS allows would do', () => {
    const error = refusal({ maxReceiveCount: 40, retentionPeriod: Duration.days(13) });
    expect(error.message).toContain('lower maxReceiveCount to 29');
    expect(error.message).not.toContain('raise retentionPeriod');
  });

  it('sums per receive the longer of the visibility timeout and batching window + timeout + the longest backoff', () => {
    const longest = (receive: number): number =>
      Math.max(backoffSeconds(receive, { random: () => 1 }), backoffSeconds(receive, { ...SYSTEMIC_BACKOFF, random: () => 1 }));
    const timing = { visibilitySeconds: 725, timeoutSeconds: 120, windowSeconds: 5 };
    const expected = [1, 2, 3, 4, 5, 6, 7, 8].reduce((sum, k) => sum + Math.max(725, Math.min(43_200, 125 + longest(k))), 0);
    expect(worstCaseRetrySeconds(8, timing)).toBe(expected);
    // The same figures by hand: 725, 845, 3005, 11645, then 4 x 43200.
    expect(expected).toBe(725 + 845 + 3005 + 11_645 + 4 * 43_200);
    // Far more than the old maxReceiveCount x visibilityTimeout (8 x 725 = 5800 s).
    expect(worstCaseRetrySeconds(8, timing)).toBeGreaterThan(8 * 725);
  });

  it('is an upper bound of what the function asks for: its visibility change is cut to the 12 hours less the window, a margin and its run', () => {
    const timing = { visibilitySeconds: 725, timeoutSeconds: 120, windowSeconds: 5 };
    // A whole timeout spent before the change: 43,200 - 5 - 60 - 120 = 43,015 s asked at most.
    const asked = (receive: number): number =>
      Math.min(
        backoffSeconds(receive, { ...SYSTEMIC_BACKOFF, random: () => 0.999_999 }),
        visibilityCapSeconds(120_000, { batchingWindowSeconds: 5 }),
      );
    expect(asked(5)).toBe(43_015);
    const hidden = [1, 2, 3, 4, 5, 6, 7, 8].reduce((sum, k) => sum + Math.max(725, 5 + 120 + asked(k)), 0);
    expect(hidden).toBe(725 + 845 + 3005 + 11_645 + 4 * 43_140);
    expect(hidden).toBeLessThanOrEqual(worstCaseRetrySeconds(8, timing));
  });
});
