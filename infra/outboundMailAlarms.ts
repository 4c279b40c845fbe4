/**
 * The alarms that say when outbound mail is stuck: a job arriving in the dead-letter queue, a dead
 * letter about to expire, an old job on the mail queue, a failing function, and batches the relay
 * refused whole. Each alarm's name starts with `OutboundMail-<environment>-`, and those on the
 * function's own metrics read that environment's metrics only (see `sendMailMetrics.ts`).
 *
 * A plain function rather than a child construct: the alarms are added to the
 * `OutboundMail` construct's own scope, so their logical ids are those of the construct.
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRIC } from '../lib/delivery/report.js';
import { DEAD_LETTER_RETENTION } from './outboundMailSettings.js';
import { sendMailMetric } from './sendMailMetrics.js';
import type { SendMailMetricsSource } from './sendMailMetrics.js';

export { SEND_MAIL_METRICS_SERVICE } from './sendMailMetrics.js';

/** The alarms an `OutboundMail` creates; each notifies `alarmTopic` when there is one. */
export interface OutboundMailAlarms {
  /**
   * A job arrived in the dead-letter queue in the last 5 minutes: the function dead-lettered it
   * (its `DeadLettered` metric) or SQS's redrive moved it (the DLQ's depth grew). Back to OK after a
   * period without arrivals, so the next arrival notifies again.
   */
  readonly deadLetterArrivals: Alarm;
  /** The oldest job in the dead-letter queue will expire within about 2 days (see {@link deadLetterAgeAlarmSeconds}). */
  readonly deadLettersExpiring: Alarm;
  /** The oldest job on the mail queue is older than `oldestMessageAgeAlarm`. */
  readonly oldestMessageAge: Alarm;
  /** The function failed (threw, timed out, or ran out of memory). */
  readonly functionErrors: Alarm;
  /**
   * A batch could not be sent at all: the relay could not be reached, or TLS or AUTH failed
   * (every job of the batch is retried; the function does not fail, so `functionErrors` stays quiet).
   */
  readonly systemicFailures: Alarm;
}

/** What {@link addOutboundMailAlarms} watches: the pipeline's queues and function. */
export interface AlarmedResources {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly sendMailFunction: IFunction;
}

/** The thresholds and the topic of {@link addOutboundMailAlarms}, as resolved by `OutboundMail`. */
export interface OutboundMailAlarmOptions {
  /** The function's metrics: their namespace and the environment whose metrics the alarms read. */
  readonly metrics: SendMailMetricsSource;
  /** The oldest-job alarm fires when a job has waited on the mail queue longer than this. */
  readonly oldestMessageAge: Duration;
  /** The mail queue's retention, and whether it is FIFO: they bound how long a dead letter lives. */
  readonly retentionPeriod: Duration;
  readonly fifo: boolean;
  /** Topic notified on alarm and on recovery; absent: the alarms notify nobody. */
  readonly alarmTopic?: ITopic | undefined;
}

/** How long before a dead letter may expire the retention alarm fires, at most (half the DLQ life left, when shorter). */
export const DEAD_LETTER_EXPIRY_WARNING = Duration.days(2);

/**
 * The age in the dead-letter queue past which its oldest job may expire within
 * {@link DEAD_LETTER_EXPIRY_WARNING}. SQS expires a job by its *original* enqueue time on a
 * standard queue, while the DLQ's `ApproximateAgeOfOldestMessage` counts from its arrival: a job
 * SQS's redrive moved may have spent up to the mail queue's retention there, so it surely has only
 * 14 days less that retention in the DLQ. A FIFO DLQ resets the enqueue time, and a job the
 * function sends there is a new message: those have the 14 days. The warning is 2 days before the
 * shortest life, or half of it when that is under 4 days.
 *
 * @example
 * deadLetterAgeAlarmSeconds(Duration.days(4), false); // 8 days: 14 - 4 - 2
 * deadLetterAgeAlarmSeconds(Duration.days(4), true); // 12 days: 14 - 2
 */
export function deadLetterAgeAlarmSeconds(retentionPeriod: Duration, fifo: boolean): number {
  const life = deadLetterLifeSeconds(retentionPeriod, fifo);
  return life - Math.min(DEAD_LETTER_EXPIRY_WARNING.toSeconds(), Math.floor(life / 2));
}

/** The least time any job surely has in the dead-letter queue (see {@link deadLetterAgeAlarmSeconds}). */
function deadLetterLifeSeconds(retentionPeriod: Duration, fifo: boolean): number {
  return DEAD_LETTER_RETENTION.toSeconds() - (fifo ? 0 : retentionPeriod.toSeconds());
}

/**
 * Adds the pipeline's five alarms to `scope` (ids `DeadLetterArrivalsAlarm`,
 * `DeadLettersExpiringAlarm`, `OldestMessageAgeAlarm`, `FunctionErrorsAlarm`,
 * `SystemicFailuresAlarm`; names `OutboundMail-<environment>-DeadLetterArrivals`, ...), each
 * firing on one 5-minute period over its threshold, missing data counting as fine, and each
 * notifying `alarmTopic` on alarm and on recovery when there is one.
 *
 * @returns the alarms, for `OutboundMail.alarms`
 * @example
 * ```ts
 * this.alarms = addOutboundMailAlarms(this, this, {
 *   metrics: { namespace: 'OutboundMail', environment: 'prod' },
 *   oldestMessageAge: Duration.minutes(30), retentionPeriod: Duration.days(4), fifo: false,
 * });
 * ```
 */
export function addOutboundMailAlarms(scope: Construct, watched: AlarmedResources, options: OutboundMailAlarmOptions): OutboundMailAlarms {
  const period = Duration.minutes(5);
  const alarm = (id: string, alarmOptions: { metric: IMetric; threshold: number; description: string }): Alarm =>
    new Alarm(scope, `${id}Alarm`, {
      alarmName: `OutboundMail-${options.metrics.environment}-${id}`,
      metric: alarmOptions.metric,
      threshold: alarmOptions.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: alarmOptions.description,
    });
  const deadLetterAge = deadLetterAgeAlarmSeconds(options.retentionPeriod, options.fifo);
  const worstLifeLeft = deadLetterLifeSeconds(options.retentionPeriod, options.fifo) - deadLetterAge;

  const alarms = {
    deadLetterArrivals: alarm('DeadLetterArrivals', {
      metric: deadLetterArrivals(watched.deadLetterQueue, options.metrics, period),
      threshold: 0,
      description:
        'Mail jobs arrived in the dead-letter queue in the last 5 minutes (failed for good, or out of retries): ' +
        'list them with `mail-queue dlq list`, fix the cause, then redrive or purge them.',
    }),
    deadLettersExpiring: alarm('DeadLettersExpiring', {
      metric: watched.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM }),
      threshold: deadLetterAge,
      description:
        `The oldest job in the dead-letter queue has been there over ${deadLetterAge} s: it may expire within ${Math.round(worstLifeLeft / 3600)} h ` +
        '(SQS deletes it 14 days after it first entered a standard queue). Redrive it or save it now.',
    }),
    oldestMessageAge: alarm('OldestMessageAge', {
      metric: watched.queue.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM }),
      threshold: options.oldestMessageAge.toSeconds(),
      description: `A mail job has waited on the queue over ${options.oldestMessageAge.toSeconds()} s: the relay is slow or refusing, or the function is failing.`,
    }),
    functionErrors: alarm('FunctionErrors', {
      metric: watched.sendMailFunction.metricErrors({ period, statistic: Stats.SUM }),
      threshold: 0,
      description: 'The send-mail function failed (threw, timed out or ran out of memory); its batch is retried.',
    }),
    systemicFailures: alarm('SystemicFailures', {
      metric: sendMailMetric(options.metrics, METRIC.systemicFailures, { period }),
      threshold: 0,
      description: 'The relay could not be reached, or STARTTLS or AUTH failed: whole batches are being retried. Check the relay and the secret.',
    }),
  } satisfies OutboundMailAlarms;
  if (options.alarmTopic !== undefined) {
    const action = new SnsAction(options.alarmTopic);
    for (const each of Object.values(alarms)) {
      each.addAlarmAction(action);
      each.addOkAction(action);
    }
  }
  return alarms;
}

/**
 * Jobs that arrived in the DLQ per period, or at least a sign of them: the larger of the jobs the
 * function dead-lettered (its `DeadLettered` metric; SQS's `NumberOfMessagesSent` would miss the
 * jobs its redrive moves) and the growth of the DLQ's depth since the previous period (which sees
 * those too). Both are filled with 0 where missing: the function writes no metric while idle, and
 * SQS none for an empty queue nobody touched for 6 hours; so every period has a value, and a
 * period without arrivals is at most 0.
 */
function deadLetterArrivals(deadLetterQueue: IQueue, metrics: SendMailMetricsSource, period: Duration): MathExpression {
  return new MathExpression({
    expression: 'MAX([FILL(deadLettered, 0), DIFF(FILL(depth, 0))])',
    usingMetrics: {
      deadLettered: sendMailMetric(metrics, METRIC.deadLettered, { period }),
      depth: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: Stats.MAXIMUM }),
    },
    label: 'Jobs arriving in the dead-letter queue',
    period,
  });
}
