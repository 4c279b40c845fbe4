/**
 * Where the send-mail function's own metrics are in CloudWatch, for the alarms and the dashboard.
 *
 * The function writes them with Powertools Metrics (the embedded metric format) in the namespace
 * `POWERTOOLS_METRICS_NAMESPACE`, with two default dimensions in one dimension set: `service`
 * (the service name `functions/send-mail.ts` gives its `Metrics`) and `Environment` (the value of
 * `MAIL_ENVIRONMENT`, which the construct sets). A CloudWatch metric is identified by its exact
 * set of dimensions, so whatever reads them names both: two environments sharing an account and
 * region then never read each other's metrics.
 * @module
 */
import { Duration, Names } from 'aws-cdk-lib';
import { Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { InvalidOutboundMailPropsError } from './errors.js';

/**
 * The `service` dimension the send-mail function's Powertools metrics carry: the service name
 * `functions/send-mail.ts` gives its `Metrics`.
 */
export const SEND_MAIL_METRICS_SERVICE = 'send-mail';

/** The dimension, added by the function to every metric, that names its environment (`MAIL_ENVIRONMENT`). */
export const ENVIRONMENT_DIMENSION = 'Environment';

/**
 * An environment's name as the function takes it in `MAIL_ENVIRONMENT` (lib/config.ts) and as
 * alarm and dashboard names take it: a letter, then letters, digits or `-`, at most 64.
 */
const ENVIRONMENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/** The function's metrics of one environment. */
export interface SendMailMetricsSource {
  /** CloudWatch namespace (`POWERTOOLS_METRICS_NAMESPACE`). */
  readonly namespace: string;
  /** The environment's name (`MAIL_ENVIRONMENT`), the `Environment` dimension's value. */
  readonly environment: string;
}

/**
 * The dimensions of every metric the send-mail function of `environment` writes.
 * @example
 * sendMailMetricDimensions('prod'); // { service: 'send-mail', Environment: 'prod' }
 */
export function sendMailMetricDimensions(environment: string): Record<string, string> {
  return { service: SEND_MAIL_METRICS_SERVICE, [ENVIRONMENT_DIMENSION]: environment };
}

/**
 * One of the send-mail function's metrics (a name of `METRIC` in lib/delivery/report.ts, or one
 * of the ledger's), for one environment.
 * @example
 * sendMailMetric({ namespace: 'OutboundMail', environment: 'prod' }, METRIC.deadLettered, { statistic: Stats.SUM });
 */
export function sendMailMetric(
  source: SendMailMetricsSource,
  metricName: string,
  options: { statistic?: string; period?: Duration; label?: string } = {},
): Metric {
  return new Metric({
    namespace: source.namespace,
    metricName,
    dimensionsMap: sendMailMetricDimensions(source.environment),
    statistic: options.statistic ?? Stats.SUM,
    period: options.period ?? Duration.minutes(5),
    ...(options.label === undefined ? {} : { label: options.label }),
  });
}

/**
 * The environment name of an `OutboundMail`: the one given, or a name unique to the construct's
 * path in the app (unique in an account and region, as stack names are).
 *
 * @throws {@link InvalidOutboundMailPropsError} when the given name is not a letter, then
 *   letters, digits or `-`, at most 64 (the function would refuse it at cold start).
 */
export function resolveEnvironmentName(construct: Construct, given: string | undefined): string {
  if (given === undefined) return Names.uniqueResourceName(construct, { maxLength: 64, separator: '-' });
  if (!ENVIRONMENT_NAME_PATTERN.test(given)) {
    throw new InvalidOutboundMailPropsError(
      'environmentName',
      `must be a letter, then letters, digits or "-", at most 64 (the function's MAIL_ENVIRONMENT; it names the alarms and the dashboard), got "${given}"`,
    );
  }
  return given;
}
