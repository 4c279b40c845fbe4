/**
 * The props of the `OutboundMail` construct, each with its default; `outboundMailSettings.ts`
 * fills the defaults in and checks the props against each other and AWS's limits.
 * @module
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';

/** Props of {@link OutboundMail}. */
export interface OutboundMailProps {
  /**
   * The Secrets Manager secret holding the relay's settings
   * (`{"host","port","username","password","security"?,"clientName"?,"from"?}`), referenced by its
   * complete ARN (`Secret.fromSecretCompleteArn`) so the function may read that one secret only.
   */
  readonly smtpSecret: ISecret;
  /**
   * Messages sent over one SMTP connection: the event source's batch size. At most 10 on a FIFO
   * queue, 1000 on a standard one (over 10 needs {@link OutboundMailProps.maxBatchingWindow}).
   * @default 10
   */
  readonly mailPerConnection?: number;
  /**
   * Most SMTP connections open at once, i.e. the relay's connection limit: the event source's
   * maximum concurrency (2 to 1000). The function's reserved concurrency is left alone.
   * @default 2
   */
  readonly maxConnections?: number;
  /**
   * Most recipients per message (the function's `MAIL_MAX_RECIPIENTS`, 1 to 1000; SES relays take
   * 50). A job with more is sent in several transactions on the same connection, the same message
   * each time. Either way, recipients a relay refuses as "too many" get further transactions.
   * @default no limit of ours
   */
  readonly maxRecipientsPerMessage?: number;
  /**
   * Function memory in MiB (CPU grows with it, which shortens TLS handshakes).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Function timeout; the SMTP client's deadlines stay inside it.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Receives of a job before SQS moves it to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the event source waits to fill a batch. Required (at least 1 second) when
   * `mailPerConnection` is over 10 on a standard queue; not allowed on a FIFO queue.
   * @default no batching window
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Visibility timeout of the mail queue; at least 6 x `timeout`.
   * @default 6 x timeout + maxBatchingWindow
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long the mail queue keeps a job; longer than the worst case of `maxReceiveCount` receives
   * each followed by the function's own backoff (up to 12 h per receive during a relay outage:
   * see `worstCaseRetrySeconds`), and shorter than the dead-letter queue's 14 days.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * FIFO queues (jobs of one message group are sent in order; the function stops a batch at
   * its first failure). Producers then give a message group id and a deduplication id.
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * Name of the mail queue (ending in `.fifo` on a FIFO queue); the dead-letter queue gets the
   * same name with `-dlq`. The name is fixed because the dead-letter queue's redrive-allow policy
   * must name its source queue before the source queue exists.
   * @default a name unique to this construct's path in the app
   */
  readonly queueName?: string;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * The oldest-job alarm fires when a job has waited on the mail queue longer than this.
   * @default Duration.minutes(30)
   */
  readonly oldestMessageAgeAlarm?: Duration;
  /**
   * Topic the alarms notify, on alarm and on recovery.
   * @default the alarms notify nobody
   */
  readonly alarmTopic?: ITopic;
  /**
   * CloudWatch namespace of the function's metrics (`POWERTOOLS_METRICS_NAMESPACE`); the
   * systemic-failure alarm watches it.
   * @default 'OutboundMail'
   */
  readonly metricsNamespace?: string;
  /**
   * The environment's name (e.g. `prod`). The function gets it as `MAIL_ENVIRONMENT` and writes it
   * as the `Environment` dimension of every metric, so environments sharing an account and region
   * keep their metrics apart, and the alarms and the dashboard read their own; it also names the
   * alarms (`OutboundMail-<name>-DeadLetterArrivals`, ...) and the dashboard (`OutboundMail-<name>`;
   * dashboards are global to the account). A letter, then letters, digits or `-`, at most 64.
   * @default a name unique to this construct's path in the app
   */
  readonly environmentName?: string;
  /**
   * What happens to the delivery ledger table when it leaves the stack (or the stack is deleted).
   * Keep `RETAIN` (which also turns on deletion protection) wherever mail matters; `DESTROY` suits
   * throw-away environments.
   * @default RemovalPolicy.RETAIN
   */
  readonly ledgerRemovalPolicy?: RemovalPolicy;
}
