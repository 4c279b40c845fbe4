/**
 * The product's pipeline as one reusable construct: the mail queue, its dead-letter queue, the
 * send-mail Lambda consuming it, its delivery ledger, the alarms that say when mail is stuck
 * (`outboundMailAlarms.ts`) and the environment's dashboard (`outboundMailDashboard.ts`). The
 * props are in `outboundMailProps.ts`.
 * @module
 */
import { Duration, Names, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { Architecture, LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeliveryLedger } from './DeliveryLedger.js';
import { PayloadBucket } from './PayloadBucket.js';
import { addDeliveryLedgerAlarms } from './ledgerAlarms.js';
import type { DeliveryLedgerAlarms } from './ledgerAlarms.js';
import { allowedRecipientsVariable } from './allowedRecipients.js';
import { addOutboundMailAlarms } from './outboundMailAlarms.js';
import type { OutboundMailAlarms } from './outboundMailAlarms.js';
import type { OutboundMailProps } from './outboundMailProps.js';
import { addOutboundMailDashboard, alarmsIn } from './outboundMailDashboard.js';
import { addQueueParameters, allowProducers, checkDeploymentProps, functionNetwork, grantSecretKeyDecrypt } from './outboundMailDeployment.js';
import type { QueueParameters } from './outboundMailDeployment.js';
import { acknowledgeOutboundMailNagFindings } from './outboundMailNag.js';
import { DEAD_LETTER_RETENTION, MAX_MESSAGE_SIZE_BYTES, resolveOutboundMailSettings } from './outboundMailSettings.js';
import { RELAY_CA_FILE_NAME } from './relayCa.js';
import { functionStorage } from './functionStorage.js';
import { createSendMailFunction } from './sendMailFunction.js';
import { resolveEnvironmentName, sendMailMetricDimensions } from './sendMailMetrics.js';

export { SEND_MAIL_METRICS_SERVICE } from './outboundMailAlarms.js';
export type { OutboundMailAlarms } from './outboundMailAlarms.js';
export type { OutboundMailProps } from './outboundMailProps.js';
export type { QueueParameters } from './outboundMailDeployment.js';

/**
 * Outbound mail as a construct: producers send mail jobs to {@link OutboundMail.queue}; the
 * send-mail Lambda takes them in batches of `mailPerConnection`, one SMTP connection per batch,
 * at most `maxConnections` at once, and reports partial batch failures; jobs that keep failing,
 * or fail for good, end in {@link OutboundMail.deadLetterQueue}.
 *
 * Secure by default: both queues are encrypted (SSE-SQS) and refuse requests without TLS, the
 * dead-letter queue takes redrives from its source queue only, the function's role may do
 * exactly what the function does (consume the queue, send to both queues, read the one secret,
 * read and write its delivery ledger table, write its own log group, send traces), and nothing
 * runs with AWS-managed policies. The delivery ledger (a DynamoDB table, see {@link DeliveryLedger})
 * is on-demand, encrypted, recoverable to any second of the last 35 days, and kept by default when
 * the stack goes.
 *
 * @throws {@link InvalidOutboundMailPropsError} when props contradict each other or an AWS limit
 *   (see {@link resolveOutboundMailSettings}).
 * @example
 * ```ts
 * const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', relaySecretArn);
 * const mail = new OutboundMail(stack, 'Mail', { smtpSecret, mailPerConnection: 10, maxConnections: 4 });
 * mail.grantPublish(ordersService.role);
 * ```
 */
export class OutboundMail extends Construct {
  /** The mail queue producers send jobs to. */
  readonly queue: Queue;
  /** Where jobs go when they fail for good or run out of retries. Keeps them 14 days. */
  readonly deadLetterQueue: Queue;
  /** The send-mail Lambda. */
  readonly sendMailFunction: LambdaFunction;
  /** The function's log group, with its retention. */
  readonly logGroup: LogGroup;
  /** The alarms on the pipeline. */
  readonly alarms: OutboundMailAlarms;
  /** The environment's name: the `Environment` dimension of the function's metrics, part of the alarms' and the dashboard's names. */
  readonly environmentName: string;
  /** The environment's CloudWatch dashboard, `OutboundMail-<environmentName>`. */
  readonly dashboard: Dashboard;
  /** The delivery ledger: which recipients took each job, so a job that comes back is not sent twice. */
  readonly ledger: DeliveryLedger;
  /** The claim-check bucket: job bodies too large for a queue message (`payloads/`), deleted after delivery. */
  readonly payloads: PayloadBucket;
  /** The alarms on the delivery ledger (throttles, and mail sent without it). */
  readonly ledgerAlarms: DeliveryLedgerAlarms;
  /** The SSM parameters holding the queue's URL and ARN and the claim-check bucket's name, unless `parameterPrefix` is false. */
  readonly queueParameters: QueueParameters | undefined;

  constructor(scope: Construct, id: string, props: OutboundMailProps) {
    super(scope, id);
    const settings = resolveOutboundMailSettings(props);
    checkDeploymentProps(props);
    const stack = Stack.of(this);
    const metricsNamespace = props.metricsNamespace ?? 'OutboundMail';
    this.environmentName = resolveEnvironmentName(this, props.environmentName);
    const metrics = { namespace: metricsNamespace, environment: this.environmentName };

    const queueName = settings.queueName ?? defaultQueueName(this, settings.fifo);
    const deadLetterQueueName = settings.fifo ? `${queueName.replace(/\.fifo$/, '')}-dlq.fifo` : `${queueName}-dlq`;
    // The queue names the DLQ in its redrive policy and the DLQ names the queue in its
    // redrive-allow policy; a Ref both ways would be a cycle, so the DLQ gets the queue's ARN
    // from its fixed name.
    const queueArn = stack.formatArn({ service: 'sqs', resource: queueName });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName,
      fifo: settings.fifo || undefined,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      redriveAllowPolicy: {
        redrivePermission: RedrivePermission.BY_QUEUE,
        sourceQueues: [Queue.fromQueueArn(this, 'RedriveSource', queueArn)],
      },
    });

    this.queue = new Queue(this, 'Queue', {
      queueName,
      fifo: settings.fifo || undefined,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      visibilityTimeout: settings.visibilityTimeout,
      retentionPeriod: settings.retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });

    this.logGroup = new LogGroup(this, 'FunctionLogs', { retention: settings.logRetention });

    this.ledger = new DeliveryLedger(this, 'Ledger', {
      recordLifetime: settings.ledgerRecordLifetime,
      removalPolicy: settings.ledgerRemovalPolicy,
    });

    // Claim checks: kept while a job may still be retried or sit in the DLQ, and a day more.
    this.payloads = new PayloadBucket(this, 'Payloads', {
      expiration: Duration.days(settings.retentionPeriod.toDays({ integral: false }) + DEAD_LETTER_RETENTION.toDays() + 1),
      removalPolicy: settings.ledgerRemovalPolicy,
    });

    const role = new Role(this, 'FunctionRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'send-mail Lambda: consumes the mail queue, sends to it and to its DLQ, reads the relay secret, uses the delivery ledger',
    });

    const network = functionNetwork(this, props, role);
    const relayCa = props.relayCa?.source;

    const storage = functionStorage(props.ephemeralStorageSize);
    this.sendMailFunction = createSendMailFunction(
      this,
      'SendMail',
      {
        ...network,
        description: 'Delivers mail jobs from the queue over one SMTP connection per batch',
        architecture: Architecture.ARM_64,
        memorySize: settings.memorySize,
        ephemeralStorageSize: storage.ephemeralStorageSize,
        timeout: settings.timeout,
        role,
        logGroup: this.logGroup,
        loggingFormat: LoggingFormat.JSON,
        tracing: Tracing.ACTIVE,
        environment: {
          SMTP_SECRET_ID: props.smtpSecret.secretFullArn ?? props.smtpSecret.secretArn,
          MAIL_PER_CONNECTION: String(settings.mailPerConnection),
          ...(settings.maxRecipientsPerMessage === undefined ? {} : { MAIL_MAX_RECIPIENTS: String(settings.maxRecipientsPerMessage) }),
          QUEUE_URL: this.queue.queueUrl,
          DLQ_URL: this.deadLetterQueue.queueUrl,
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
          MAIL_ENVIRONMENT: this.environmentName,
          // On a job's last receive the function dead-letters it itself, with the reason, rather than leave it to SQS.
          MAIL_MAX_RECEIVES: String(settings.maxReceiveCount),
          MAIL_LEDGER_TABLE: this.ledger.table.tableName,
          MAIL_PAYLOAD_BUCKET: this.payloads.bucket.bucketName,
          // Offloaded jobs a batch reads into /tmp: the function's ephemeral storage less a margin; the rest come back.
          MAIL_SPOOL_BYTES: String(storage.spoolBytes),
          MAIL_LEDGER_TTL_SECONDS: String(settings.ledgerRecordLifetime.toSeconds()),
          ...(props.allowedRecipients === undefined ? {} : { MAIL_ALLOWED_RECIPIENTS: allowedRecipientsVariable(props.allowedRecipients) }),
          ...props.relayCa?.environment(),
        },
      },
      relayCa?.kind === 'file' ? { file: relayCa.file, name: RELAY_CA_FILE_NAME } : undefined,
    );

    this.sendMailFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: settings.mailPerConnection,
        reportBatchItemFailures: true,
        maxConcurrency: settings.maxConnections,
        ...(settings.maxBatchingWindow === undefined ? {} : { maxBatchingWindow: settings.maxBatchingWindow }),
      }),
    );
    // Re-enqueueing the 4xx-refused recipients of a job, and dead-lettering permanent failures
    // at once (without waiting for maxReceiveCount receives).
    this.queue.grantSendMessages(this.sendMailFunction);
    this.deadLetterQueue.grantSendMessages(this.sendMailFunction);
    props.smtpSecret.grantRead(this.sendMailFunction);
    this.logGroup.grantWrite(this.sendMailFunction);
    this.ledger.grantLedger(this.sendMailFunction);
    this.payloads.grantReadDelete(this.sendMailFunction, role);
    for (const bucket of props.attachmentBuckets ?? []) bucket.grantRead(this.sendMailFunction);
    props.relayCa?.grantRead(this.sendMailFunction);
    grantSecretKeyDecrypt(props, role);
    allowProducers(this.queue, props);
    this.queueParameters = addQueueParameters(
      this,
      this.queue,
      this.payloads.bucket,
      props.parameterPrefix ?? `/outbound-mail/${this.environmentName}`,
    );

    this.alarms = addOutboundMailAlarms(this, this, {
      metrics,
      oldestMessageAge: settings.oldestMessageAgeAlarm,
      retentionPeriod: settings.retentionPeriod,
      fifo: settings.fifo,
      alarmTopic: props.alarmTopic,
    });
    this.ledgerAlarms = addDeliveryLedgerAlarms(this, this.ledger.table, {
      metricsNamespace,
      metricDimensions: sendMailMetricDimensions(this.environmentName),
      alarmNamePrefix: `OutboundMail-${this.environmentName}-`,
      alarmTopic: props.alarmTopic,
    });

    this.dashboard = addOutboundMailDashboard(
      this,
      { queue: this.queue, deadLetterQueue: this.deadLetterQueue, sendMailFunction: this.sendMailFunction, maxConnections: settings.maxConnections },
      { metrics, alarms: [...alarmsIn(this.alarms), ...alarmsIn(this.ledgerAlarms)] },
    );

    acknowledgeOutboundMailNagFindings(this, role);
  }

  /**
   * Lets a producer send mail jobs to the queue (`sqs:SendMessage`, plus reading the queue's URL
   * and attributes) and offload large ones (`s3:PutObject` on the claim-check bucket's `payloads/`).
   * Nothing else: producers cannot receive, delete or purge.
   *
   * @param grantee - the producer's role, function or user.
   * @returns the grant, for adding dependencies.
   * @example
   * ```ts
   * mail.grantPublish(ordersFunction);
   * ordersFunction.addEnvironment('MAIL_QUEUE_URL', mail.queue.queueUrl);
   * ```
   */
  grantPublish(grantee: IGrantable): Grant {
    const grant = this.queue.grantSendMessages(grantee);
    this.payloads.grantWrite(grantee);
    return grant;
  }
}

/** A queue name unique to the construct's path, within SQS's limits (80 characters with `-dlq.fifo`). */
function defaultQueueName(construct: Construct, fifo: boolean): string {
  const base = Names.uniqueResourceName(construct, { maxLength: 71, separator: '-' });
  return fifo ? `${base}.fifo` : base;
}
