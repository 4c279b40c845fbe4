/**
 * The valibot schemas of a version 1 mail job: a composed job and a raw one. Structure and types are
 * checked by valibot; addresses, header fields and raw messages by this package's own parsers,
 * plugged in as transforms (fieldSchemas.ts, attachmentSchema.ts, producerFieldSchemas.ts) so that
 * every problem of a job is collected in one pass.
 * @module
 */
import * as v from 'valibot';
import { parseAddress, parseBareAddress } from './address.js';
import { attachments } from './attachmentSchema.js';
import { describeType } from './characters.js';
import {
  address,
  addressList,
  bareAddress,
  addressListTransform,
  headers,
  id,
  MAX_BODY_LENGTH,
  MAX_SUBJECT_LENGTH,
  text,
  version,
} from './fieldSchemas.js';
import { delaySeconds, envelopeFrom, listUnsubscribe, tags } from './producerFieldSchemas.js';
import { checkRawMessage, MAX_RAW_MESSAGE_LENGTH, RAW_MESSAGE_TOO_LONG } from './rawMessage.js';
import { StreamedRawMessage } from './StreamedRawMessage.js';
import type { RawMessageSource } from './types.js';

export { MAX_RECIPIENTS, MAX_SUBJECT_LENGTH, MAX_BODY_LENGTH } from './fieldSchemas.js';
export { MAX_ATTACHMENTS, S3_BUCKET_NAME, MAX_S3_KEY_LENGTH } from './attachmentSchema.js';
export {
  MAX_TAGS,
  TAG_KEY,
  MAX_TAG_VALUE_LENGTH,
  MAX_DELAY_SECONDS,
  UNSUBSCRIBE_URL,
  MAX_UNSUBSCRIBE_URL_LENGTH,
  UNSUBSCRIBE_MAILTO,
  MAX_UNSUBSCRIBE_MAILTO_LENGTH,
} from './producerFieldSchemas.js';

/** A job the product composes. */
export const composedJobSchema = v.objectWithRest(
  {
    v: version,
    id: v.optional(id),
    from: v.optional(address),
    to: addressList(parseAddress, { nonEmpty: true }),
    cc: v.optional(addressList(parseAddress, { nonEmpty: false }), []),
    bcc: v.optional(addressList(parseAddress, { nonEmpty: false }), []),
    replyTo: v.optional(addressList(parseAddress, { nonEmpty: false }), []),
    subject: text('line', MAX_SUBJECT_LENGTH),
    text: v.optional(text('body', MAX_BODY_LENGTH)),
    html: v.optional(text('body', MAX_BODY_LENGTH)),
    headers: v.optional(headers, {}),
    attachments: v.optional(attachments, []),
    tags: v.optional(tags),
    delaySeconds: v.optional(delaySeconds),
    envelopeFrom: v.optional(envelopeFrom),
    listUnsubscribe: v.optional(listUnsubscribe),
  },
  v.never('is not a field of a version 1 mail job (check the spelling)'),
);

/** The null reverse-path `""` or a bare address. */
function envelopeSender(value: unknown): ReturnType<typeof parseAddress> {
  return value === '' ? { ok: true, address: { address: '' } } : parseBareAddress(value);
}

/**
 * `raw.message`: a string, or (a raw job offloaded to S3, never from JSON) a message the delivery
 * read into a file and checked as it came, whose problems are reported here as a string's would be.
 */
const rawMessage = v.pipe(
  v.custom<string | StreamedRawMessage>(
    (input) => typeof input === 'string' || input instanceof StreamedRawMessage,
    (issue) => `must be a string, not ${describeType(issue.input)}`,
  ),
  v.check((input) => typeof input !== 'string' || input.length <= MAX_RAW_MESSAGE_LENGTH, RAW_MESSAGE_TOO_LONG),
  v.rawTransform(({ dataset, addIssue, NEVER }): { message: string; source?: RawMessageSource } => {
    const input = dataset.value;
    const result = typeof input === 'string' ? checkRawMessage(input) : input.checked;
    if (!result.ok) {
      for (const problem of result.problems) addIssue({ message: problem });
      return NEVER;
    }
    return 'message' in result ? { message: result.message } : { message: result.header, source: result.source };
  }),
);

/** A raw job: a complete message and its envelope. */
export const rawJobSchema = v.objectWithRest(
  {
    v: version,
    id: v.optional(id),
    tags: v.optional(tags),
    delaySeconds: v.optional(delaySeconds),
    raw: v.objectWithRest(
      {
        envelope: v.objectWithRest(
          {
            from: bareAddress(envelopeSender),
            to: v.pipe(
              v.array(v.unknown(), (issue) => `must be a list of addresses, not ${describeType(issue.input)}`),
              addressListTransform<unknown[]>(parseBareAddress, { nonEmpty: true }),
            ),
          },
          v.never('is not a field of an envelope (from, to)'),
        ),
        message: rawMessage,
      },
      v.never('is not a field of raw (envelope, message)'),
    ),
  },
  v.never(
    'is not allowed in a raw job: the raw message carries its own headers and body, and raw.envelope its MAIL FROM (only v, id, tags, delaySeconds and raw)',
  ),
);

/** Plain words for the issues that the schemas above leave to valibot (missing fields, wrong types). */
export function fallbackMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === 'schema' && issue.input === undefined && issue.expected?.startsWith('"')) return 'is required';
  switch (issue.type) {
    case 'object_with_rest':
    case 'object':
    case 'record':
      return `must be an object, not ${describeType(issue.input)}`;
    case 'string':
      return `must be a string, not ${describeType(issue.input)}`;
    case 'number':
      return `must be a number, not ${describeType(issue.input)}`;
    case 'array':
      return `must be a list, not ${describeType(issue.input)}`;
    default:
      return issue.message;
  }
}
