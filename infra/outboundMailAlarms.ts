/**
 * The alarms that say when outbound mail is stuck: jobs in the dead-letter queue, an old job on
 * the mail queue, a failing function, and batches the relay refused whole.
 *
 * A plain function rather than a child construct: the alarms are added to the
 * `OutboundMail` construct's own scope, so their logical ids are those of the construct.
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRIC } from '../lib/delivery/report.js';

/** The alarms an `OutboundMail` creates; each notifies `alarmTopic` when there is one. */
export interface OutboundMailAlarms {
  /** Jobs are waiting in the dead-letter queue. */
  readonly deadLetterQueueNotEmpty: Alarm;
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

/**
 * The `service` dimension the send-mail function's Powertools metrics carry: the service name
 * `functions/send-mail.ts` gives its `Metrics`.
 */
export const SEND_MAIL_METRICS_SERVICE = 'send-mail';

/** What {@link addOutboundMailAlarms} watches: the pipeline's queues and function. */
export interface AlarmedResources {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly sendMailFunction: IFunction;
}

/** The thresholds and the topic of {@link addOutboundMailAlarms}, as resolved by `OutboundMail`. */
export interface OutboundMailAlarmOptions {
  /** The oldest-job alarm fires when a job has waited on the mail queue longer than this. */
  readonly oldestMessageAge: Duration;
  /** CloudWatch namespace of the function's metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
  readonly metricsNamespace: string;
  /** Topic notified on alarm and on recovery; absent: the alarms notify nobody. */
  readonly alarmTopic?: ITopic | undefined;
}

/**
 * Adds the pipeline's four alarms to `scope` (ids `DeadLetterQueueNotEmptyAlarm`,
 * `OldestMessageAgeAlarm`, `FunctionErrorsAlarm`, `SystemicFailuresAlarm`), each firing on one
 * 5-minute period over its threshold, missing data counting as fine, and each notifying
 * `alarmTopic` on alarm and on recovery when there is one.
 *
 * @returns the alarms, for `OutboundMail.alarms`
 * @example
 * ```ts
 * this.alarms = addOutboundMailAlarms(this, this, { oldestMessageAge: Duration.minutes(30), metricsNamespace: 'OutboundMail' });
 * ```
 */
export function addOutboundMailAlarms(scope: Construct, watched: AlarmedResources, options: OutboundMailAlarmOptions): OutboundMailAlarms {
  const alarm = (id: string, alarmOptions: { metric: IMetric; threshold: number; description: string }): Alarm =>
    new Alarm(scope, `${id}Alarm`, {
      metric: alarmOptions.metric,
      threshold: alarmOptions.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: alarmOptions.description,
    });

  const alarms = {
    deadLetterQueueNotEmpty: alarm('DeadLetterQueueNotEmpty', {
      metric: watched.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: Stats.MAXIMUM,
      }),
      threshold: 0,
      description: 'Mail jobs are in the dead-letter queue (failed for good, or out of retries): read them, then redrive or delete them.',
    }),
    oldestMessageAge: alarm('OldestMessageAge', {
      metric: watched.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: Stats.MAXIMUM,
      }),
      threshold: options.oldestMessageAge.toSeconds(),
      description: `A mail job has waited on the queue over ${options.oldestMessageAge.toSeconds()} s: the relay is slow or refusing, or the function is failing.`,
    }),
    functionErrors: alarm('FunctionErrors', {
      metric: watched.sendMailFunction.metricErrors({ period: Duration.minutes(5), statistic: Stats.SUM }),
      threshold: 0,
      description: 'The send-mail function failed (threw, timed out or ran out of memory); its batch is retried.',
    }),
    systemicFailures: alarm('SystemicFailures', {
      metric: new Metric({
        namespace: options.metricsNamespace,
        metricName: METRIC.systemicFailures,
        dimensionsMap: { service: SEND_MAIL_METRICS_SERVICE },
        period: Duration.minutes(5),
        statistic: Stats.SUM,
      }),
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
