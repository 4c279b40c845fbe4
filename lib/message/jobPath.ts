/**
 * Paths of job issues. They are logged, so they are made of field names of the job format and
 * indices only: a key the producer chose (a header name, an unknown field, any key of an object the
 * format does not know) may quote an address, and shows as `*`.
 * @module
 */

/** One step of a path: a field name of the format, an index, or `'*'` for a key the producer chose. */
export type PathKey = string | number;

/** Every field name of the version 1 format, at any level. */
const FIELD_NAMES: ReadonlySet<string> = new Set([
  'v',
  'id',
  'from',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'text',
  'html',
  'headers',
  'attachments',
  'raw',
  'envelope',
  'message',
  'filename',
  'contentType',
  'content',
  'contentId',
  's3',
  'bucket',
  'key',
  'name',
  'address',
  'tags',
  'delaySeconds',
  'envelopeFrom',
  'listUnsubscribe',
  'url',
  'mailto',
]);

/** `key` when it is a field name of the format, `'*'` otherwise. */
export function pathKeyOf(key: string): string {
  return FIELD_NAMES.has(key) ? key : '*';
}

/**
 * `to[1].address`, `headers[3]`, `*.*`: the path in the form a JavaScript reader expects, with any
 * key that is not a field name of the format shown as `*`.
 * @example
 * formatPath(['attachments', 0, 'content']); // 'attachments[0].content'
 * formatPath(['labels', 'bob@example.com']); // '*.*' (neither is a field name)
 */
export function formatPath(keys: readonly PathKey[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += (out === '' ? '' : '.') + pathKeyOf(key);
  }
  return out;
}
