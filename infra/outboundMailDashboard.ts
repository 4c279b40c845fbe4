/**
 * The CloudWatch dashboard of one environment, `OutboundMail-<environment>`: the alarms' states,
 * what the function did with the jobs (its own metrics, that environment's only), the queues, and
 * the function as Lambda sees it.
 *
 * Every graph comes from one list, {@link OUTBOUND_MAIL_GRAPHS}: adding a metric is adding a line.
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, AlarmStatusWidget, Dashboard, GraphWidget, Stats, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { HorizontalAnnotation, IAlarm, IMetric, IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRIC } from '../lib/delivery/report.js';
import { sendMailMetric } from './sendMailMetrics.js';
import type { SendMailMetricsSource } from './sendMailMetrics.js';

/** What the graphs draw from. */
export interface DashboardSources {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly sendMailFunction: IFunction;
  /** The most SMTP connections at once (the event source's maximum concurrency), drawn on the concurrency graph. */
  readonly maxConnections: number;
  /** One of the send-mail function's own metrics of this environment, summed per period unless `statistic` says otherwise. */
  readonly mail: (metricName: string, statistic?: string) => IMetric;
}

/** One graph of the dashboard. */
export interface DashboardGraph {
  readonly title: string;
  readonly metrics: (sources: DashboardSources) => IMetric[];
  /** Horizontal lines, e.g. a limit. */
  readonly annotations?: (sources: DashboardSources) => HorizontalAnnotation[];
}

/** The graphs, in order (three to a row). One line per graph. */
export const OUTBOUND_MAIL_GRAPHS: readonly DashboardGraph[] = [
  { title: 'Jobs delivered', metrics: (s) => [s.mail(METRIC.delivered)] },
  { title: 'Jobs retried', metrics: (s) => [s.mail(METRIC.retried)] },
  { title: 'Jobs dead-lettered by the function', metrics: (s) => [s.mail(METRIC.deadLettered)] },
  { title: 'Recipients refused', metrics: (s) => [s.mail(METRIC.recipientsRefused)] },
  { title: 'Recipients re-enqueued (refused for now)', metrics: (s) => [s.mail(METRIC.recipientsRequeued)] },
  { title: 'Recipients suppressed (outside allowedRecipients)', metrics: (s) => [s.mail(METRIC.recipientsSuppressed)] },
  { title: 'Possible duplicates (no reply after the data)', metrics: (s) => [s.mail(METRIC.possibleDuplicates)] },
  { title: 'Jobs not sent again (delivery ledger: already delivered)', metrics: (s) => [s.mail(METRIC.duplicatesSuppressed)] },
  { title: 'Jobs sent without the delivery ledger (unreachable)', metrics: (s) => [s.mail(METRIC.ledgerUnavailable)] },
  { title: 'Systemic failures (relay, TLS or AUTH)', metrics: (s) => [s.mail(METRIC.systemicFailures)] },
  {
    title: 'Batch duration (ms)',
    metrics: (s) => [
      s.mail(METRIC.batchDuration, Stats.AVERAGE),
      s.mail(METRIC.batchDuration, Stats.p(99)),
      s.mail(METRIC.batchDuration, Stats.MAXIMUM),
    ],
  },
  { title: 'Round trips per batch', metrics: (s) => [s.mail(METRIC.roundTrips, Stats.AVERAGE), s.mail(METRIC.roundTrips, Stats.MAXIMUM)] },
  {
    title: 'Mail queue: jobs waiting, in flight, delayed',
    metrics: (s) => [
      s.queue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, label: 'waiting' }),
      s.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: Stats.MAXIMUM, label: 'in flight' }),
      s.queue.metricApproximateNumberOfMessagesDelayed({ statistic: Stats.MAXIMUM, label: 'delayed' }),
    ],
  },
  { title: 'Oldest job on the mail queue (s)', metrics: (s) => [s.queue.metricApproximateAgeOfOldestMessage({ statistic: Stats.MAXIMUM })] },
  { title: 'Dead-letter queue: jobs', metrics: (s) => [s.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM })] },
  { title: 'Oldest dead letter (s)', metrics: (s) => [s.deadLetterQueue.metricApproximateAgeOfOldestMessage({ statistic: Stats.MAXIMUM })] },
  {
    title: 'Function errors and throttles',
    metrics: (s) => [s.sendMailFunction.metricErrors({ statistic: Stats.SUM }), s.sendMailFunction.metricThrottles({ statistic: Stats.SUM })],
  },
  {
    title: 'Function duration (ms)',
    metrics: (s) => [
      s.sendMailFunction.metricDuration({ statistic: Stats.AVERAGE }),
      s.sendMailFunction.metricDuration({ statistic: Stats.MAXIMUM }),
    ],
  },
  {
    title: 'Function concurrency (SMTP connections)',
    metrics: (s) => [s.sendMailFunction.metric('ConcurrentExecutions', { statistic: Stats.MAXIMUM })],
    annotations: (s) => [{ value: s.maxConnections, label: 'maxConnections' }],
  },
];

/** Options of {@link addOutboundMailDashboard}. */
export interface OutboundMailDashboardOptions {
  /** The function's metrics: namespace and environment. */
  readonly metrics: SendMailMetricsSource;
  /** The alarms shown at the top. */
  readonly alarms: readonly IAlarm[];
  /** The graphs. @default OUTBOUND_MAIL_GRAPHS */
  readonly graphs?: readonly DashboardGraph[];
}

/**
 * The alarms among the fields of a group of alarms (`OutboundMail.alarms`, `OutboundMail.ledgerAlarms`), in their order.
 * @example
 * alarmsIn(mail.alarms); // [deadLetterArrivals, deadLettersExpiring, ...]
 */
export function alarmsIn(group: object): Alarm[] {
  return Object.values(group).filter((value): value is Alarm => value instanceof Alarm);
}

const GRAPHS_PER_ROW = 3;
const GRID_WIDTH = 24;

/**
 * Adds the dashboard `OutboundMail-<environment>` to `scope` (id `Dashboard`): a line on what to
 * do, the alarms' states, then {@link OUTBOUND_MAIL_GRAPHS} over 5-minute periods.
 *
 * @example
 * ```ts
 * addOutboundMailDashboard(this, { queue, deadLetterQueue, sendMailFunction, maxConnections: 4 }, {
 *   metrics: { namespace: 'OutboundMail', environment: 'prod' }, alarms: Object.values(alarms),
 * });
 * ```
 */
export function addOutboundMailDashboard(
  scope: Construct,
  resources: Omit<DashboardSources, 'mail'>,
  options: OutboundMailDashboardOptions,
): Dashboard {
  const period = Duration.minutes(5);
  const sources: DashboardSources = {
    ...resources,
    mail: (metricName, statistic) => sendMailMetric(options.metrics, metricName, { period, ...(statistic === undefined ? {} : { statistic }) }),
  };
  const { environment } = options.metrics;
  const dashboard = new Dashboard(scope, 'Dashboard', { dashboardName: `OutboundMail-${environment}`, defaultInterval: Duration.hours(6) });
  dashboard.addWidgets(
    new TextWidget({
      markdown:
        `## Outbound mail: ${environment}\n` +
        `Dead letters: \`mail-queue dlq list --stack OutboundMail-${environment}\`, then \`dlq redrive\` or \`dlq purge\`. ` +
        `Queues: \`mail-queue stats --stack OutboundMail-${environment}\`.`,
      width: GRID_WIDTH,
      height: 2,
    }),
  );
  dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: [...options.alarms], width: GRID_WIDTH, height: 3 }));
  const widgets: IWidget[] = (options.graphs ?? OUTBOUND_MAIL_GRAPHS).map(
    (graph) =>
      new GraphWidget({
        title: graph.title,
        left: graph.metrics(sources),
        ...(graph.annotations === undefined ? {} : { leftAnnotations: graph.annotations(sources) }),
        width: GRID_WIDTH / GRAPHS_PER_ROW,
        height: 6,
      }),
  );
  for (let index = 0; index < widgets.length; index += GRAPHS_PER_ROW) dashboard.addWidgets(...widgets.slice(index, index + GRAPHS_PER_ROW));
  return dashboard;
}
