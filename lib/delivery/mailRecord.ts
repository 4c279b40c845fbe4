/**
 * One SQS record of a batch as the delivery sees it: the fields it needs from the event, and the
 * parsed mail job (or why the body is not one).
 * @module
 */
import type { SQSRecord } from 'aws-lambda';
import { InvalidJobError, parseMailJob, readJobBody } from '../message/index.js';
import type { MailJob } from '../message/index.js';
import { LEGACY_PAYLOAD_SIZE_ATTRIBUTE, PAYLOAD_SIZE_ATTRIBUTE } from '../message/payloadPointer.js';
import type { PayloadPointer } from '../message/payloadPointer.js';
import type { FailureReason, NotAttemptedCause, Outcome } from './outcome.js';

/** The message attribute counting how often recipients refused for now were put back on the queue. */
export const REQUEUE_COUNT_ATTRIBUTE = 'MailRequeueCount';

/** The parts of an SQS record the delivery uses. */
export interface MailRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** `ApproximateReceiveCount`: 1 on the first delivery. */
  receiveCount: number;
  /** FIFO queues: the record's message group. */
  messageGroupId?: string;
  /** How many times this job's recipients have been re-enqueued already (0 for a producer's job). */
  requeueCount: number;
  /** A claim check's size in octets, as its `ExtendedPayloadSize` (or `SQSLargePayloadSize`) attribute gives it. */
  payloadSize?: number;
}

/**
 * A record with its parsed job, or with the reason it is not a valid job. `pointer`: the body is a
 * claim check (the job came from S3). `transient` on an invalid record: the job could not be read
 * for now (S3 failed), so the record comes back instead of going to the DLQ. `notAttempted` on an
 * invalid record: its job was not read in this invocation (`spoolBudget`: the batch's spool space
 * was taken), so it comes back untried, as a job the time budget did not reach.
 */
export type PreparedRecord =
  | { record: MailRecord; job: MailJob; jobId?: string; pointer?: PayloadPointer }
  | {
      record: MailRecord;
      invalid: FailureReason;
      jobId?: string;
      pointer?: PayloadPointer;
      transient?: true;
      notAttempted?: Extract<NotAttemptedCause, 'spoolBudget'>;
    };

/**
 * The outcome of a record that holds no job to send: permanent, transient when its job could not
 * be read for now, not attempted when it was not read in this invocation.
 */
export function invalidOutcome(prepared: Extract<PreparedRecord, { invalid: FailureReason }>): Outcome {
  if (prepared.notAttempted !== undefined) return { kind: 'notAttempted', cause: prepared.notAttempted };
  return prepared.transient === true ? { kind: 'transient', reason: prepared.invalid } : { kind: 'permanent', reason: prepared.invalid };
}

/** Takes what the delivery needs from an SQS record. */
export function readRecord(record: SQSRecord): MailRecord {
  const receiveCount = Number.parseInt(record.attributes.ApproximateReceiveCount, 10);
  const requeueCount = Number.parseInt(record.messageAttributes[REQUEUE_COUNT_ATTRIBUTE]?.stringValue ?? '0', 10);
  const mail: MailRecord = {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    body: record.body,
    receiveCount: Number.isFinite(receiveCount) && receiveCount > 0 ? receiveCount : 1,
    requeueCount: Number.isFinite(requeueCount) && requeueCount > 0 ? requeueCount : 0,
  };
  const declared = record.messageAttributes[PAYLOAD_SIZE_ATTRIBUTE] ?? record.messageAttributes[LEGACY_PAYLOAD_SIZE_ATTRIBUTE];
  const payloadSize = /^\d{1,15}$/.test(declared?.stringValue ?? '') ? Number(declared?.stringValue) : undefined;
  if (payloadSize !== undefined) mail.payloadSize = payloadSize;
  const group = record.attributes.MessageGroupId;
  if (group !== undefined && group !== '') mail.messageGroupId = group;
  return mail;
}

/**
 * Parses the record's body as a mail job (or, for an offloaded job, the JSON read from S3). A body
 * that is not JSON or not a valid job is a permanent failure of this record alone (phase `'job'`),
 * never an exception.
 */
export function prepareRecord(record: MailRecord, offloaded?: { input: unknown }): PreparedRecord {
  let input: unknown;
  if (offloaded !== undefined) input = offloaded.input;
  else
    try {
      // Refuses first, without building it, a body that no job looks like (1 MiB of nested lists).
      input = readJobBody(record.body);
    } catch (error) {
      if (error instanceof InvalidJobError) return { record, invalid: invalidJob(error) };
      const message = 'the message body is not JSON';
      return { record, invalid: { phase: 'job', message, paths: ['(job)'], issues: [{ path: '', message }] } };
    }
  const jobId = idOf(input);
  try {
    const job = parseMailJob(input);
    return jobId === undefined ? { record, job } : { record, job, jobId };
  } catch (error) {
    const invalid: FailureReason =
      error instanceof InvalidJobError
        ? invalidJob(error)
        : {
            phase: 'job',
            message: `invalid mail job: ${error instanceof Error ? error.message : String(error)}`,
            paths: ['(job)'],
            issues: [{ path: '', message: `could not be read (${error instanceof Error ? error.name : 'error'})` }],
          };
    return jobId === undefined ? { record, invalid } : { record, invalid, jobId };
  }
}

/**
 * The reason of a record that is not a valid job: the error's text (it starts with "invalid mail
 * job" and may quote the job: it goes to the DLQ with the job), the paths of its problems (field
 * names and indices only) and the problems themselves (logged with their quoted values hidden).
 */
function invalidJob(error: InvalidJobError): FailureReason {
  return {
    phase: 'job',
    message: error.message,
    paths: error.issues.map((issue) => issue.path || '(job)'),
    issues: error.issues,
    issueCount: error.count,
  };
}

/** The producer's job id, when the body has a usable one (for logs, even when the job is invalid). */
function idOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const id = (input as { id?: unknown }).id;
  if (typeof id !== 'string' || id.length === 0 || id.length > 200 || /[\u0000-\u001f\u007f]/.test(id)) return undefined;
  return id;
}
