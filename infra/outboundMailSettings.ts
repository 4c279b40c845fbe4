/**
 * The `OutboundMail` construct's props with their defaults filled in, checked against each other
 * and against the limits of SQS and Lambda, so that a contradiction stops `cdk synth` with a
 * message naming the prop instead of failing half-way through a CloudFormation deployment.
 * @module
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { MAX_IN_FLIGHT_SECONDS, SYSTEMIC_BACKOFF, backoffSeconds } from '../lib/delivery/backoff.js';
import type { OutboundMailProps } from './OutboundMail.js';
import { InvalidOutboundMailPropsError } from './errors.js';

/** Every setting of an `OutboundMail`, defaults applied and checked. */
export interface OutboundMailSettings {
  readonly fifo: boolean;
  readonly mailPerConnection: number;
  readonly maxConnections: number;
  readonly maxRecipientsPerMessage: number | undefined;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly maxReceiveCount: number;
  readonly maxBatchingWindow: Duration | undefined;
  readonly visibilityTimeout: Duration;
  readonly retentionPeriod: Duration;
  readonly oldestMessageAgeAlarm: Duration;
  readonly logRetention: RetentionDays;
  readonly queueName: string | undefined;
  /** How long a delivery ledger record is kept: {@link ledgerRecordLifetime} of the retention. */
  readonly ledgerRecordLifetime: Duration;
  readonly ledgerRemovalPolicy: RemovalPolicy;
}

/** Defaults of the optional props, as documented on {@link OutboundMailProps}. */
export const OUTBOUND_MAIL_DEFAULTS = {
  mailPerConnection: 10,
  maxConnections: 2,
  memorySize: 256,
  timeout: Duration.seconds(60),
  maxReceiveCount: 5,
  retentionPeriod: Duration.days(4),
  oldestMessageAgeAlarm: Duration.minutes(30),
  logRetention: RetentionDays.ONE_MONTH,
} as const;

/** Retention of the dead-letter queue: the longest SQS allows. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * How long the delivery ledger keeps a record: the mail queue's retention plus the dead-letter
 * queue's. A job can come back for as long as the queue keeps it, and again when it is redriven
 * from the DLQ (a new message, kept another retention period); its ledger record must outlive
 * both, or the redriven job would be sent again.
 *
 * @example
 * ledgerRecordLifetime(Duration.days(4)).toDays(); // 18
 */
export function ledgerRecordLifetime(retentionPeriod: Duration): Duration {
  return Duration.seconds(retentionPeriod.toSeconds() + DEAD_LETTER_RETENTION.toSeconds());
}

/** Largest message SQS takes (1 MiB), set explicitly on both queues. */
export const MAX_MESSAGE_SIZE_BYTES = 1_048_576;

/** The visibility timeout must be at least this many function timeouts (AWS's guidance for SQS event sources). */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/**
 * Largest batch on a standard queue: SQS allows 10,000, but the function refuses a
 * `MAIL_PER_CONNECTION` over 1000 (lib/config.ts), and one connection should not carry more.
 */
const MAX_STANDARD_BATCH = 1000;

const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Room left for the dead-letter queue's `-dlq` suffix within SQS's 80-character limit. */
const MAX_QUEUE_NAME_LENGTH = 76;

/** What bounds how long one receive keeps a job hidden. */
export interface RetryTiming {
  /** The mail queue's visibility timeout: the least a receive hides a job for. */
  readonly visibilitySeconds: number;
  /** The function timeout: the longest the function works on a batch before it sets the backoff. */
  readonly timeoutSeconds: number;
  /** The event source's batching window: a received job may wait this long before the function starts. */
  readonly windowSeconds: number;
}

/**
 * The longest a job can spend on the mail queue, hidden, before SQS moves it to the dead-letter
 * queue: the sum over `maxReceiveCount` receives of the longest each receive can hide it. A receive
 * hides a job for the visibility timeout, or, when the function fails it for now, for the batching
 * window and the function's run plus the function's own backoff for that receive (the longer of
 * the transient and the systemic policy of lib/delivery/backoff.ts, at its upper bound), never
 * past SQS's 12 hours in flight (`MAX_IN_FLIGHT_SECONDS`).
 *
 * An upper bound: the function itself asks for less (`visibilityCapSeconds` cuts a backoff to the
 * 12 hours less the batching window, a margin and its run so far, so that SQS takes the change),
 * and a change SQS refuses leaves the job hidden for the visibility timeout only.
 *
 * @example
 * worstCaseRetrySeconds(5, { visibilitySeconds: 360, timeoutSeconds: 60, windowSeconds: 0 }); // 58860 (16.4 h)
 */
export function worstCaseRetrySeconds(maxReceiveCount: number, timing: RetryTiming): number {
  let total = 0;
  for (let receive = 1; receive <= maxReceiveCount; receive += 1) total += longestHiddenSeconds(receive, timing);
  return total;
}

function longestHiddenSeconds(receive: number, timing: RetryTiming): number {
  // random() = 1 gives each policy's upper bound (its jitter only ever shortens the delay).
  const backoff = Math.max(backoffSeconds(receive, { random: () => 1 }), backoffSeconds(receive, { ...SYSTEMIC_BACKOFF, random: () => 1 }));
  const afterRun = Math.min(MAX_IN_FLIGHT_SECONDS, timing.windowSeconds + timing.timeoutSeconds + backoff);
  return Math.max(timing.visibilitySeconds, afterRun);
}

/** The error text of a retention the retries outlast: the figures, and what to change. */
function retentionProblem(
  prop: 'maxReceiveCount' | 'retentionPeriod',
  maxReceiveCount: number,
  worstCase: number,
  retentionSeconds: number,
  timing: RetryTiming,
): string {
  let fits = 0;
  for (let total = 0; fits < maxReceiveCount; fits += 1) {
    total += longestHiddenSeconds(fits + 1, timing);
    if (total >= retentionSeconds) break;
  }
  const fixes = [
    ...(fits >= 1 ? [`lower maxReceiveCount to ${fits}`] : []),
    ...(worstCase < DEAD_LETTER_RETENTION.toSeconds() - 1 ? [`raise retentionPeriod above ${worstCase} s`] : []),
  ];
  const { baseSeconds, factor, capSeconds } = SYSTEMIC_BACKOFF;
  const retention = `${retentionSeconds} s (${humanDuration(retentionSeconds)}${prop === 'maxReceiveCount' ? ', the default' : ''})`;
  return (
    `${prop === 'maxReceiveCount' ? "is too high for the mail queue's retention" : 'is too short for the retries'}: ` +
    `${maxReceiveCount} receives (maxReceiveCount), each hiding the job for the batching window, the function timeout ` +
    `and the function's own backoff (during a relay outage: ${baseSeconds} s x${factor} per receive, up to ${capSeconds} s), ` +
    `and at least the visibility timeout, add up to ${worstCase} s (${humanDuration(worstCase)}) in the worst case, ` +
    `and the retentionPeriod is ${retention}: jobs would expire during an outage without reaching the dead-letter queue. ` +
    `To fix it, ${fixes.join(' or ')}`
  );
}

function humanDuration(seconds: number): string {
  if (seconds < 3600) return `${Math.round(seconds / 6) / 10} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 8640) / 10} days`;
}

function fail(prop: string, problem: string): never {
  throw new InvalidOutboundMailPropsError(prop, problem);
}

function integerIn(prop: string, value: number, min: number, max: number, what: string): number {
  if (Token.isUnresolved(value)) fail(prop, 'must be a plain number, not a token, so it can be checked at synth');
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(prop, `must be an integer from ${min} to ${max} (${what}), got ${value}`);
  }
  return value;
}

function seconds(prop: string, value: Duration, min: number, max: number, what: string): number {
  if (value.isUnresolved()) fail(prop, 'must be a plain duration, not a token, so it can be checked at synth');
  return integerIn(prop, value.toSeconds(), min, max, `${what}; in seconds`);
}

/**
 * Fills in the defaults of {@link OutboundMailProps} and checks every limit and every
 * combination that SQS or Lambda would refuse at deploy time, or that would lose or duplicate
 * mail at run time.
 *
 * @throws {@link InvalidOutboundMailPropsError} naming the first prop at fault, for example a
 *   visibility timeout under six function timeouts, a batching window on a FIFO queue, more than
 *   10 messages per batch on a FIFO queue, more than 10 on a standard queue without a batching
 *   window, a `maxReceiveCount` under 1, or a retention too short for the retries to finish
 *   (see {@link worstCaseRetrySeconds}).
 */
export function resolveOutboundMailSettings(props: OutboundMailProps): OutboundMailSettings {
  const fifo = props.fifo ?? false;

  const mailPerConnection = integerIn(
    'mailPerConnection',
    props.mailPerConnection ?? OUTBOUND_MAIL_DEFAULTS.mailPerConnection,
    1,
    fifo ? 10 : MAX_STANDARD_BATCH,
    fifo ? "the event source's batch size on a FIFO queue" : "the event source's batch size; the function sends at most 1000 messages per connection",
  );
  const maxConnections = integerIn(
    'maxConnections',
    props.maxConnections ?? OUTBOUND_MAIL_DEFAULTS.maxConnections,
    2,
    1000,
    "the event source's maximum concurrency",
  );
  const maxRecipientsPerMessage =
    props.maxRecipientsPerMessage === undefined
      ? undefined
      : integerIn('maxRecipientsPerMessage', props.maxRecipientsPerMessage, 1, 1000, "recipients per message; the function's MAIL_MAX_RECIPIENTS");
  const memorySize = integerIn('memorySize', props.memorySize ?? OUTBOUND_MAIL_DEFAULTS.memorySize, 128, 10_240, 'MiB of Lambda memory');
  const timeout = props.timeout ?? OUTBOUND_MAIL_DEFAULTS.timeout;
  const timeoutSeconds = seconds('timeout', timeout, 1, 900, "Lambda's limit");
  const maxReceiveCount = integerIn(
    'maxReceiveCount',
    props.maxReceiveCount ?? OUTBOUND_MAIL_DEFAULTS.maxReceiveCount,
    1,
    1000,
    'receives before a job moves to the dead-letter queue',
  );

  const maxBatchingWindow = props.maxBatchingWindow;
  let windowSeconds = 0;
  if (maxBatchingWindow !== undefined) {
    if (fifo) fail('maxBatchingWindow', 'is not supported on a FIFO queue: remove it or use a standard queue');
    windowSeconds = seconds('maxBatchingWindow', maxBatchingWindow, 0, 300, "the event source's limit");
  }
  if (!fifo && mailPerConnection > 10 && windowSeconds < 1) {
    fail(
      'maxBatchingWindow',
      `must be at least 1 second when mailPerConnection is over 10 on a standard queue ` +
        `(SQS batches larger than 10 need a batching window); mailPerConnection is ${mailPerConnection}`,
    );
  }

  const minimumVisibility = VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds;
  const visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(minimumVisibility + windowSeconds);
  const visibilitySeconds = seconds('visibilityTimeout', visibilityTimeout, 0, 43_200, "SQS's limit");
  if (visibilitySeconds < minimumVisibility) {
    fail(
      'visibilityTimeout',
      `must be at least ${VISIBILITY_TIMEOUT_FACTOR} x the function timeout ` +
        `(${VISIBILITY_TIMEOUT_FACTOR} x ${timeoutSeconds} s = ${minimumVisibility} s), got ${visibilitySeconds} s: ` +
        'a job still being sent would become visible again and could be sent twice',
    );
  }

  const retentionPeriod = props.retentionPeriod ?? OUTBOUND_MAIL_DEFAULTS.retentionPeriod;
  const retentionSeconds = seconds(
    'retentionPeriod',
    retentionPeriod,
    60,
    DEAD_LETTER_RETENTION.toSeconds() - 1,
    "shorter than the dead-letter queue's 14 days, which keep a job's first enqueue time",
  );
  const worstCase = worstCaseRetrySeconds(maxReceiveCount, { visibilitySeconds, timeoutSeconds, windowSeconds });
  if (retentionSeconds <= worstCase) {
    // The value given is at fault: maxReceiveCount when the retention is the default (always so from cdk.json).
    const given = props.retentionPeriod === undefined ? 'maxReceiveCount' : 'retentionPeriod';
    fail(given, retentionProblem(given, maxReceiveCount, worstCase, retentionSeconds, { visibilitySeconds, timeoutSeconds, windowSeconds }));
  }

  const oldestMessageAgeAlarm = props.oldestMessageAgeAlarm ?? OUTBOUND_MAIL_DEFAULTS.oldestMessageAgeAlarm;
  const alarmSeconds = seconds(
    'oldestMessageAgeAlarm',
    oldestMessageAgeAlarm,
    60,
    retentionSeconds - 1,
    'shorter than retentionPeriod, or jobs expire before it fires',
  );

  const queueName = props.queueName;
  if (queueName !== undefined) {
    const base = fifo ? queueName.replace(/\.fifo$/, '') : queueName;
    if (fifo && base === queueName) fail('queueName', `must end in ".fifo" on a FIFO queue, got "${queueName}"`);
    if (!QUEUE_NAME_PATTERN.test(base) || base.length > MAX_QUEUE_NAME_LENGTH - (fifo ? 5 : 0)) {
      fail(
        'queueName',
        `must be 1 to ${MAX_QUEUE_NAME_LENGTH} letters, digits, "-" or "_"${fifo ? ' followed by ".fifo"' : ''} ` +
          `(the dead-letter queue adds "-dlq"), got "${queueName}"`,
      );
    }
  }

  if (props.smtpSecret.secretFullArn === undefined) {
    fail('smtpSecret', 'must be referenced by its complete ARN (Secret.fromSecretCompleteArn), so that the read grant names exactly one secret');
  }

  return {
    fifo,
    mailPerConnection,
    maxConnections,
    maxRecipientsPerMessage,
    memorySize,
    timeout,
    maxReceiveCount,
    maxBatchingWindow,
    visibilityTimeout,
    retentionPeriod,
    oldestMessageAgeAlarm: Duration.seconds(alarmSeconds),
    logRetention: props.logRetention ?? OUTBOUND_MAIL_DEFAULTS.logRetention,
    queueName,
    ledgerRecordLifetime: ledgerRecordLifetime(Duration.seconds(retentionSeconds)),
    ledgerRemovalPolicy: props.ledgerRemovalPolicy ?? RemovalPolicy.RETAIN,
  };
}
