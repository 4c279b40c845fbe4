/**
 * The delivery ledger's alarms: DynamoDB throttling the ledger table, and the function delivering
 * without the ledger (it could not be reached, so mail went out at-least-once, unguarded).
 *
 * A plain function, like `addOutboundMailAlarms`: the alarms go into the `OutboundMail`
 * construct's own scope, next to the pipeline's other alarms.
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { METRIC } from '../lib/delivery/report.js';

/** The metric the send-mail function emits for the jobs it sent without the ledger (`METRIC.ledgerUnavailable`). */
export const LEDGER_UNAVAILABLE_METRIC = METRIC.ledgerUnavailable;

/** The alarms {@link addDeliveryLedgerAlarms} creates. */
export interface DeliveryLedgerAlarms {
  /** DynamoDB throttled reads or writes of the ledger table (each throttle is a retry, or a batch sent unguarded). */
  readonly ledgerThrottles: Alarm;
  /** The function could not use the ledger and delivered at-least-once: duplicates are possible until it recovers. */
  readonly ledgerUnavailable: Alarm;
}

/** Options of {@link addDeliveryLedgerAlarms}. */
export interface DeliveryLedgerAlarmOptions {
  /** CloudWatch namespace of the function's metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
  readonly metricsNamespace: string;
  /** Dimensions of the function's metrics, as its other metric alarms use them. */
  readonly metricDimensions: Readonly<Record<string, string>>;
  /** Topic notified on alarm and on recovery; absent: the alarms notify nobody. */
  readonly alarmTopic?: ITopic | undefined;
  /** Start of the alarms' names, e.g. `OutboundMail-prod-` (then `OutboundMail-prod-LedgerThrottles`). @default CloudFormation names them */
  readonly alarmNamePrefix?: string;
}

/**
 * Adds `LedgerThrottlesAlarm` (the table's `ReadThrottleEvents` + `WriteThrottleEvents`, which also
 * count throttled items inside batch requests, unlike `ThrottledRequests`) and
 * `LedgerUnavailableAlarm` (the function's `LedgerUnavailable` metric) to `scope`, each firing on
 * one 5-minute period over 0, missing data counting as fine.
 *
 * @example
 * ```ts
 * const ledgerAlarms = addDeliveryLedgerAlarms(this, ledger.table, { metricsNamespace: 'OutboundMail', metricDimensions: { service: 'send-mail' } });
 * ```
 */
export function addDeliveryLedgerAlarms(scope: Construct, table: ITable, options: DeliveryLedgerAlarmOptions): DeliveryLedgerAlarms {
  const period = Duration.minutes(5);
  const common = {
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  };
  const named = (id: string): { alarmName?: string } =>
    options.alarmNamePrefix === undefined ? {} : { alarmName: `${options.alarmNamePrefix}${id}` };
  const alarms: DeliveryLedgerAlarms = {
    ledgerThrottles: new Alarm(scope, 'LedgerThrottlesAlarm', {
      ...common,
      ...named('LedgerThrottles'),
      metric: new MathExpression({
        expression: 'FILL(reads, 0) + FILL(writes, 0)',
        usingMetrics: {
          reads: table.metric('ReadThrottleEvents', { period, statistic: Stats.SUM }),
          writes: table.metric('WriteThrottleEvents', { period, statistic: Stats.SUM }),
        },
        label: 'Ledger throttle events',
        period,
      }),
      alarmDescription:
        'DynamoDB throttled the delivery ledger: batches wait on retries, or go out without the ledger (at-least-once). ' +
        'Look for a hot job id or a burst above the on-demand limits.',
    }),
    ledgerUnavailable: new Alarm(scope, 'LedgerUnavailableAlarm', {
      ...common,
      ...named('LedgerUnavailable'),
      metric: new Metric({
        namespace: options.metricsNamespace,
        metricName: LEDGER_UNAVAILABLE_METRIC,
        dimensionsMap: { ...options.metricDimensions },
        period,
        statistic: Stats.SUM,
      }),
      alarmDescription:
        'The send-mail function could not reach the delivery ledger and sent mail without it: recipients may get a copy twice ' +
        'until it is back. Check DynamoDB, the table and the function role.',
    }),
  };
  if (options.alarmTopic !== undefined) {
    const action = new SnsAction(options.alarmTopic);
    for (const each of [alarms.ledgerThrottles, alarms.ledgerUnavailable]) {
      each.addAlarmAction(action);
      each.addOkAction(action);
    }
  }
  return alarms;
}
