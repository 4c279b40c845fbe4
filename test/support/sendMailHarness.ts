/**
 * The send-mail handler wired to real components for tests: the SQS emulator's queues, a real SMTP
 * server, recording log and metrics sinks, and checks that every record ended in exactly one place.
 * @module
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { expect } from 'vitest';
import type { Config } from '../../lib/config.js';
import { createSendMailHandler } from '../../lib/delivery/index.js';
import type { DeliveryLog, DeliveryMetrics, SendMailHandler, SendMailHandlerDeps } from '../../lib/delivery/index.js';
import { lambdaContext, sqsEvent } from './sqsEvents.js';
import type { MailQueues, SqsEmulator } from './sqsQueues.js';

/** One log call. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/** A log sink that keeps every line. */
export class RecordingLog implements DeliveryLog {
  readonly lines: LogLine[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, attributes });
  }
  /** The per-record lines, keyed by SQS message id. */
  records(): Map<string, LogLine> {
    const byId = new Map<string, LogLine>();
    for (const line of this.lines) {
      const id = line.attributes['sqsMessageId'];
      if (typeof id === 'string') byId.set(id, line);
    }
    return byId;
  }
}

/** A metrics sink that sums every metric by name. */
export class RecordingMetrics implements DeliveryMetrics {
  readonly values = new Map<string, number>();
  addMetric(name: string, _unit: 'Count' | 'Milliseconds', value: number): void {
    this.values.set(name, (this.values.get(name) ?? 0) + value);
  }
  get(name: string): number | undefined {
    return this.values.get(name);
  }
}

/** A composed mail job for test number `n`; its subject and id carry `n` so it can be found anywhere. */
export function mailJob(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    id: `job-${n}`,
    from: 'Sender <sender@example.com>',
    to: [`rcpt${n}@example.com`],
    subject: `Test job ${n}`,
    text: `Body of job ${n}.`,
    ...overrides,
  };
}

/** The handler and its surroundings. */
export interface SendMailRig {
  handler: SendMailHandler;
  log: RecordingLog;
  metrics: RecordingMetrics;
  config: Config;
  queues: MailQueues;
  /** Publishes the jobs, receives them as one batch, and runs the handler on them. */
  run(jobs: unknown[], remainingMs?: () => number): Promise<{ records: SQSRecord[]; response: SQSBatchResponse }>;
}

/** Options of {@link sendMailRig}. */
export interface SendMailRigOptions {
  emulator: SqsEmulator;
  smtp: Config['smtp'];
  tlsCa?: string;
  /** `SMTP_CA_PARAMETER` / `SMTP_CA_SECRET_ID`: the relay's CA read at run time. */
  tlsCaLocation?: Config['tlsCaLocation'];
  mailPerConnection?: number;
  /** `MAIL_MAX_RECIPIENTS`: at most this many recipients per message. */
  maxRecipientsPerMessage?: number;
  fifo?: boolean;
  /** `MAIL_MAX_RECEIVES`: on this receive, a job that would come back is dead-lettered with its reason. */
  maxReceives?: number;
  /** `MAIL_PAYLOAD_BUCKET`: claim checks read from this bucket (pass `deps.s3` for the emulator's S3). */
  payload?: Config['payload'];
  /** `MAIL_SPOOL_BYTES`, `MAIL_MAX_MESSAGE_BYTES`. */
  payloadLimits?: Config['payloadLimits'];
  /** Replaces the DLQ URL (e.g. with a queue that does not exist). */
  dlqUrl?: string;
  deps?: Partial<SendMailHandlerDeps>;
}

/**
 * Creates fresh queues and the handler over them.
 * @example
 * const rig = await sendMailRig({ emulator, smtp: { kind: 'url', settings }, tlsCa: server.ca });
 * const { records, response } = await rig.run([mailJob(1)]);
 */
export async function sendMailRig(options: SendMailRigOptions): Promise<SendMailRig> {
  const queues = await options.emulator.createMailQueues({ fifo: options.fifo ?? false });
  const config: Config = {
    smtp: options.smtp,
    mailPerConnection: options.mailPerConnection ?? 10,
    dlqUrl: options.dlqUrl ?? queues.dlqUrl,
    queueUrl: queues.queueUrl,
    ...(options.tlsCa === undefined ? {} : { tlsCa: options.tlsCa }),
    ...(options.tlsCaLocation === undefined ? {} : { tlsCaLocation: options.tlsCaLocation }),
    ...(options.maxRecipientsPerMessage === undefined ? {} : { maxRecipientsPerMessage: options.maxRecipientsPerMessage }),
    ...(options.maxReceives === undefined ? {} : { maxReceives: options.maxReceives }),
    ...(options.payload === undefined ? {} : { payload: options.payload }),
    ...(options.payloadLimits === undefined ? {} : { payloadLimits: options.payloadLimits }),
  };
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const handler = createSendMailHandler(config, {
    log,
    metrics,
    sqs: options.emulator.sqs,
    tuning: { backoff: { random: () => 0 } },
    ...options.deps,
  });
  return {
    handler,
    log,
    metrics,
    config,
    queues,
    async run(jobs, remainingMs) {
      await queues.publish(jobs.map((job) => (typeof job === 'string' ? job : JSON.stringify(job))));
      const records = await queues.receiveRecords(10);
      expect(records).toHaveLength(jobs.length);
      const response = await handler(sqsEvent(records), lambdaContext(remainingMs));
      return { records, response };
    },
  };
}

/** Where each record went, for {@link expectPlaces}. */
export type Place = 'delivered' | 'failed' | 'dead-lettered' | 'delivered+requeued';

/**
 * Checks that every record is in exactly the expected place and nowhere else: delivered (its job's
 * subject in the mailbox, exactly once), in `batchItemFailures`, in the DLQ (by `SourceMessageId`),
 * or delivered with its refused-for-now recipients re-enqueued (a job with the same id). Also checks
 * that the mailbox holds nothing else and the response names only these records, each once.
 *
 * @param mailbox the raw messages the SMTP server accepted
 */
export async function expectPlaces(
  rig: SendMailRig,
  records: SQSRecord[],
  response: SQSBatchResponse,
  expected: Place[],
  mailbox: readonly (Buffer | Uint8Array)[],
): Promise<void> {
  expect(expected).toHaveLength(records.length);
  const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
  expect(new Set(failed).size).toBe(failed.length);
  const ids = new Set(records.map((record) => record.messageId));
  for (const id of failed) expect(ids.has(id)).toBe(true);

  const dead = await rig.queues.contents(rig.queues.dlqName);
  const deadIds = [...dead.ready, ...dead.delayed].map((message) => message.messageAttributes['SourceMessageId']?.StringValue);
  const queue = await rig.queues.contents(rig.queues.queueName);
  const requeuedIds = [...queue.ready, ...queue.delayed]
    .filter((message) => message.messageAttributes['MailRequeueCount'] !== undefined)
    .map((message) => (JSON.parse(message.body) as { id?: string }).id);
  const subjects = mailbox.map((raw) => /^Subject: (.*)$/m.exec(Buffer.from(raw).toString('latin1'))?.[1]?.trim());

  const actual: Place[] = records.map((record) => {
    const job = jobOf(record);
    const deliveredCount = subjects.filter((subject) => job.subject !== undefined && subject === job.subject).length;
    const places: string[] = [];
    if (deliveredCount > 1) places.push(`delivered ${deliveredCount} times`);
    if (deliveredCount === 1) places.push(requeuedIds.includes(job.id) ? 'delivered+requeued' : 'delivered');
    if (deliveredCount === 0 && job.id !== undefined && requeuedIds.includes(job.id)) places.push('requeued without delivery');
    if (failed.includes(record.messageId)) places.push('failed');
    const deadCount = deadIds.filter((id) => id === record.messageId).length;
    if (deadCount > 0) places.push(deadCount === 1 ? 'dead-lettered' : `dead-lettered ${deadCount} times`);
    return places.join(' & ') as Place;
  });
  expect(actual).toEqual(expected);
  const knownSubjects = new Set(records.map((record) => jobOf(record).subject));
  expect(subjects.filter((subject) => !knownSubjects.has(subject))).toEqual([]);
}

function jobOf(record: SQSRecord): { id?: string; subject?: string } {
  try {
    const job = JSON.parse(record.body) as unknown;
    return typeof job === 'object' && job !== null ? job : {};
  } catch {
    return {};
  }
}
