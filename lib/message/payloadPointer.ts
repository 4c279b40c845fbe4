/**
 * The claim check: a queue body that points at the job's JSON in S3, in the format of the AWS SQS
 * Extended Client libraries (Java `amazon-sqs-java-extended-client-lib`, Python
 * `amazon-sqs-python-extended-client`), so that producers using them work with our function unchanged:
 *
 * ```json
 * ["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"mail-payloads","s3Key":"payloads/3f1c…"}]
 * ```
 *
 * with the message attribute `ExtendedPayloadSize` (Number: the object's octets; the libraries'
 * older name `SQSLargePayloadSize` is read too). The body alone is enough to recognise a pointer:
 * a redrive that drops attributes still finds the object.
 *
 * Our one extension, written only by the function: `recipients` in the pointer's object, the
 * envelope recipients a copy is for (recipients refused for now, put back on the queue or in the
 * dead-letter queue while the others took the message). The job in S3 is never rewritten.
 * @module
 */

/** The class name the Extended Client libraries write as the body's first element. */
export const PAYLOAD_POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer';
/** The message attribute holding the payload's size in octets. */
export const PAYLOAD_SIZE_ATTRIBUTE = 'ExtendedPayloadSize';
/** The older libraries' name of {@link PAYLOAD_SIZE_ATTRIBUTE}. */
export const LEGACY_PAYLOAD_SIZE_ATTRIBUTE = 'SQSLargePayloadSize';
/** The key prefix under which producers write payloads (their PutObject grant is on it). */
export const PAYLOAD_KEY_PREFIX = 'payloads/';

/** Where a job's JSON is, and (in a copy the function made) the recipients it is for. */
export interface PayloadPointer {
  bucket: string;
  key: string;
  /** Envelope recipients of a copy for part of the job; absent: every recipient of the job. */
  recipients?: string[];
}

/**
 * The pointer in a queue body, or `undefined` when the body is not one (a job, or anything else).
 * A body that starts like a pointer but is malformed is not one either: it then fails as a job.
 * @example
 * parsePayloadPointer('["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"payloads/1"}]');
 * // { bucket: 'b', key: 'payloads/1' }
 */
export function parsePayloadPointer(body: string): PayloadPointer | undefined {
  if (!body.trimStart().startsWith('[') || body.length > 64 * 1024) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== PAYLOAD_POINTER_CLASS) return undefined;
  const fields: unknown = value[1];
  if (typeof fields !== 'object' || fields === null) return undefined;
  const { s3BucketName, s3Key, recipients } = fields as Record<string, unknown>;
  if (typeof s3BucketName !== 'string' || s3BucketName === '' || typeof s3Key !== 'string' || s3Key === '') return undefined;
  const pointer: PayloadPointer = { bucket: s3BucketName, key: s3Key };
  if (Array.isArray(recipients) && recipients.every((r): r is string => typeof r === 'string')) pointer.recipients = recipients;
  return pointer;
}

/**
 * The queue body of a pointer, exactly as the Extended Client libraries write it (fields in their order).
 * @example
 * payloadPointerBody({ bucket: 'b', key: 'payloads/1' });
 * // '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"payloads/1"}]'
 */
export function payloadPointerBody(pointer: PayloadPointer): string {
  const fields: Record<string, unknown> = { s3BucketName: pointer.bucket, s3Key: pointer.key };
  if (pointer.recipients !== undefined) fields['recipients'] = pointer.recipients;
  return JSON.stringify([PAYLOAD_POINTER_CLASS, fields]);
}
