/**
 * SQS's rules for a message body, shared by the producer (lib/publish) and by the delivery when it
 * puts part of a job back on the queue or in the dead-letter queue: one place, so that what the
 * Lambda writes is held to exactly what the producer is.
 * @module
 */

/** The largest SQS message in octets: the body and every message attribute (name, data type and value) together. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * JSON of a job for an SQS body. U+FFFE and U+FFFF are valid in JSON strings but refused by SQS
 * (outside XML 1.0's characters), so they are written as `\u` escapes: the same string once
 * parsed. (JSON.stringify already escapes the control characters and lone surrogates SQS refuses.)
 *
 * @example
 * queueJson({ text: 'a\uFFFEb' }); // '{"text":"a\\ufffeb"}'
 */
export function queueJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\ufffe\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

/**
 * Octets a message with this body and these string or number attributes takes against
 * {@link SQS_MAX_MESSAGE_BYTES}, counted as SQS counts them.
 */
export function queueMessageBytes(body: string, attributes: Readonly<Record<string, { DataType?: string; StringValue?: string }>> = {}): number {
  let bytes = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}
