/**
 * The send-mail function's handler, built once per cold start from the checked configuration:
 * an SQS event in, `{ batchItemFailures }` out. `functions/send-mail.ts` only wraps it in middy.
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient as SecretsManagerClientType } from '@aws-sdk/client-secrets-manager';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SSMClient as SSMClientType } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Config } from '../config.js';
import { SmtpClient } from '../smtp/index.js';
import type { SmtpConnectOptions } from '../smtp/types.js';
import { buildBatchResponse } from './batchResponse.js';
import { deliverBatch } from './deliverBatch.js';
import { LedgerTable } from './ledger/LedgerTable.js';
import type { DeliveryOptions, MailSession } from './types.js';
import { QueueActions, isFifoUrl } from './QueueActions.js';
import { redactAddresses, reportBatch } from './report.js';
import type { DeliveryLog, DeliveryMetrics } from './report.js';
import { RelayCaSource } from './RelayCaSource.js';
import { SmtpSettingsSource } from './SmtpSettingsSource.js';
import { SqsCallTimes } from './SqsCallTimes.js';
import { PayloadReader } from './payload/PayloadReader.js';
import { PayloadStore } from './payload/PayloadStore.js';

/** The part of the Lambda context the handler uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** What the handler is built with besides the configuration; everything but logging has a default. */
export interface SendMailHandlerDeps {
  log: DeliveryLog;
  metrics: DeliveryMetrics;
  /** @default a new `SQSClient` (region and endpoint from the environment, e.g. `AWS_ENDPOINT_URL_SQS`; queue URLs never pick the host) */
  sqs?: Pick<SQSClient, 'send'>;
  /** @default a new `SecretsManagerClient`, created on first use */
  secrets?: () => Pick<SecretsManagerClientType, 'send'>;
  /** Reads `SMTP_CA_PARAMETER`. @default a new `SSMClient` (endpoint from the environment, e.g. `AWS_ENDPOINT_URL_SSM`), created on first use */
  ssm?: () => Pick<SSMClientType, 'send'>;
  /** The delivery ledger's client, when `MAIL_LEDGER_TABLE` is set. @default a new `DynamoDBClient` (endpoint from the environment, e.g. `AWS_ENDPOINT_URL_DYNAMODB`) */
  dynamo?: Pick<DynamoDBClient, 'send'>;
  /** Reads claim checks and attachments by reference, deletes delivered jobs' objects. @default a new `S3Client` (path-style when `AWS_ENDPOINT_URL_S3` is set) */
  s3?: Pick<S3Client, 'send'>;
  /** The spool folder's parent for offloaded jobs' attachments. @default `/tmp` */
  tmpDir?: string;
  /** Each ledger call is cut after this long (the job is then sent without it). @default 2000 */
  ledgerTimeoutMs?: number;
  /** @default `SmtpClient.connect` */
  connect?: (options: SmtpConnectOptions) => Promise<MailSession>;
  /** How long a fetched secret is used. @default 300_000 */
  secretMaxAgeMs?: number;
  /** Time margins, pipelining window, backoff and re-enqueue limit (see {@link DeliveryOptions}). */
  tuning?: Omit<DeliveryOptions, 'mailPerConnection' | 'maxRecipientsPerMessage' | 'maxReceives' | 'fifo' | 'tlsCa' | 'allowedRecipients'>;
}

/** The handler: an SQS event and the invocation's context in, the partial batch response out. */
export type SendMailHandler = (event: SQSEvent, context: InvocationContext) => Promise<SQSBatchResponse>;

/**
 * Builds the handler. State that outlives an invocation (the SQS client, the secret cache) is
 * created here, once.
 *
 * The handler never throws for a record's sake: every record is delivered, dead-lettered,
 * re-enqueued in part, or listed in `batchItemFailures`. Should the delivery itself fail
 * unexpectedly, every record is listed (retried) and the error logged.
 *
 * @example
 * const handler = createSendMailHandler(loadConfig(process.env), { log: logger, metrics });
 * const { batchItemFailures } = await handler(event, context);
 */
export function createSendMailHandler(config: Config, deps: SendMailHandlerDeps): SendMailHandler {
  // The client's endpoint (regional, or AWS_ENDPOINT_URL_SQS for a local SQS) serves every call,
  // never the host written inside a queue URL. Each attempt is bounded (without
  // `throwOnRequestTimeout` the SDK only logs a warning and waits on); each call, retries
  // included, is cut at the invocation's deadline by its abort signal (see deliverBatch).
  const sqs =
    deps.sqs ??
    new SQSClient({ useQueueUrlAsEndpoint: false, requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true } });
  let secretsClient: Pick<SecretsManagerClientType, 'send'> | undefined;
  const secrets = deps.secrets ?? ((): Pick<SecretsManagerClientType, 'send'> => (secretsClient ??= new SecretsManagerClient({})));
  let ssmClient: Pick<SSMClientType, 'send'> | undefined;
  const ssm = deps.ssm ?? ((): Pick<SSMClientType, 'send'> => (ssmClient ??= new SSMClient({})));
  const settings = new SmtpSettingsSource(config.smtp, {
    secrets,
    ...(config.tlsCaLocation === undefined ? {} : { ca: new RelayCaSource(config.tlsCaLocation, { secrets, ssm }) }),
    ...(deps.secretMaxAgeMs === undefined ? {} : { maxAgeMs: deps.secretMaxAgeMs }),
  });
  const actions = new QueueActions(sqs, { queueUrl: config.queueUrl, dlqUrl: config.dlqUrl });
  const sqsCallTimes = new SqsCallTimes();
  // The ledger must never hold mail up: short timeouts, one retry, and each call cut by the
  // ledger's own timeout (LedgerTable) and the invocation's deadline.
  const ledger =
    config.ledger === undefined
      ? undefined
      : new LedgerTable(
          deps.dynamo ??
            new DynamoDBClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true } }),
          { ...config.ledger, ...(deps.ledgerTimeoutMs === undefined ? {} : { timeoutMs: deps.ledgerTimeoutMs }) },
        );
  // S3 reads stream large objects: no request timeout (a 40 MB read may take long), a connection timeout only.
  const payloads = new PayloadReader(
    new PayloadStore(
      deps.s3 ?? new S3Client({ forcePathStyle: config.payload?.forcePathStyle ?? false, requestHandler: { connectionTimeout: 2_000 } }),
    ),
    {
      ...(config.payload === undefined ? {} : { bucket: config.payload.bucket }),
      ...(deps.tmpDir === undefined ? {} : { tmpDir: deps.tmpDir }),
      ...config.payloadLimits,
    },
  );
  const connect = deps.connect ?? ((options: SmtpConnectOptions): Promise<MailSession> => SmtpClient.connect(options));

  return async function sendMail(event: SQSEvent, context: InvocationContext): Promise<SQSBatchResponse> {
    const records = event.Records;
    if (records.length === 0) return { batchItemFailures: [] };
    const fifo = isFifoUrl(config.queueUrl) || records.some((record) => record.eventSourceARN.endsWith('.fifo'));
    const options: DeliveryOptions = { ...deps.tuning, mailPerConnection: config.mailPerConnection, fifo };
    if (config.backoffScale !== undefined) options.backoff = { ...options.backoff, scale: config.backoffScale };
    if (config.tlsCa !== undefined) options.tlsCa = config.tlsCa;
    if (config.maxRecipientsPerMessage !== undefined) options.maxRecipientsPerMessage = config.maxRecipientsPerMessage;
    if (config.maxReceives !== undefined) options.maxReceives = config.maxReceives;
    if (config.allowedRecipients !== undefined) options.allowedRecipients = config.allowedRecipients;
    // A context without a clock (a local run) gets the longest Lambda timeout.
    const remaining = typeof context.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : () => 900_000;
    let report;
    try {
      report = await deliverBatch(records, remaining, {
        settings,
        connect,
        actions,
        options,
        sqsCallTimes,
        payloads,
        ...(ledger === undefined ? {} : { ledger }),
      });
    } catch (error) {
      deps.log.error('the batch could not be handled; every record is retried', {
        error: redactAddresses(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
        records: records.length,
      });
      return buildBatchResponse(records, []);
    }
    try {
      reportBatch(report, deps.log, deps.metrics);
    } catch {
      // Logging must never turn delivered mail into retries.
    }
    return report.response;
  };
}
