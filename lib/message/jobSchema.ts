/**
 * The valibot schemas of a version 1 mail job. Structure and types are checked by valibot;
 * addresses, header fields and raw messages by this package's own parsers, plugged in as
 * transforms so that every problem of a job is collected in one pass.
 * @module
 */
import * as v from 'valibot';
import { parseAddress, parseBareAddress } from './address.js';
import { describeType, quoteValue, textProblem, type TextPolicy } from './characters.js';
import { headerNameProblem, headerValueProblem, MAX_HEADERS } from './headerRules.js';
import { checkRawMessage } from './rawMessage.js';
import type { MailAddress, MailAttachment, MailHeader } from './types.js';

/** Most recipients (to + cc + bcc, or the raw envelope): the number every SMTP server must accept (RFC 5321 4.5.3.1.8). */
export const MAX_RECIPIENTS = 100;
/** Longest subject, in characters. */
export const MAX_SUBJECT_LENGTH = 998;
/** Longest text or HTML body, in characters (the queue takes 1 MiB per job anyway). */
export const MAX_BODY_LENGTH = 1_048_576;
/** Most attachments. */
export const MAX_ATTACHMENTS = 100;

const ID = /^[\x21-\x7e]{1,200}$/;
// Base64 alphabet with at most two '=' at the end; with a length that is a multiple of 4 this is
// exactly RFC 4648 base64. Checked in two steps because the one-regex form (groups of 4) backtracks
// and, on a 900 KB attachment, costs ~25 MB of stack and 60 ms (measured in bench/handlerMemory.ts).
const BASE64_CHARACTERS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (text: string): boolean => text.length % 4 === 0 && BASE64_CHARACTERS.test(text);
const TOKEN = '[A-Za-z0-9!#$&^_.+-]+';
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"))*$`);
const CONTENT_ID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}(?:@[A-Za-z0-9.-]{1,200})?$/;

type PathItem = v.IssuePathItem;

/** A path item for issues that a transform raises inside an object or list it checks itself. */
function pathItem(input: Record<string, unknown> | unknown[], key: string | number): PathItem {
  return Array.isArray(input)
    ? { type: 'array', origin: 'value', input, key: key as number, value: input[key as number] }
    : { type: 'object', origin: 'value', input, key: key as string, value: input[key as string] };
}

/** A string checked by one of the {@link textProblem} policies, with a length limit. */
function text(policy: TextPolicy, maxLength: number) {
  return v.pipe(
    v.string(),
    v.maxLength(maxLength, (issue) => `is longer than ${maxLength} characters (${issue.input.length})`),
    v.rawCheck(({ dataset, addIssue }) => {
      // Too long already: not worth reading through.
      if (!dataset.typed || dataset.issues !== undefined) return;
      const problem = textProblem(dataset.value, policy);
      if (problem !== undefined) addIssue({ message: problem });
    }),
  );
}

/** One address in any accepted form. */
const address = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }): MailAddress => {
    const result = parseAddress(dataset.value);
    if (result.ok) return result.address;
    addIssue({ message: result.problem });
    return NEVER;
  }),
);

/** One address or a list of them (at most {@link MAX_RECIPIENTS}); always a list afterwards. */
function addressList(parse: (value: unknown) => ReturnType<typeof parseAddress>, options: { nonEmpty: boolean }) {
  return v.pipe(v.unknown(), addressListTransform<unknown>(parse, options));
}

/** The transform behind {@link addressList}, also used after an array schema (raw envelopes). */
function addressListTransform<TInput>(parse: (value: unknown) => ReturnType<typeof parseAddress>, options: { nonEmpty: boolean }) {
  return v.rawTransform<TInput, MailAddress[]>(({ dataset, addIssue, NEVER }) => {
    const input = dataset.value;
    const items = Array.isArray(input) ? input : [input];
    if (items.length === 0 && options.nonEmpty) {
      addIssue({ message: 'is an empty list: give at least one address' });
      return NEVER;
    }
    if (items.length > MAX_RECIPIENTS) {
      addIssue({ message: `has ${items.length} addresses; at most ${MAX_RECIPIENTS} are allowed` });
      return NEVER;
    }
    const out: MailAddress[] = [];
    let failed = false;
    for (const [index, item] of items.entries()) {
      const result = parse(item);
      if (result.ok) out.push(result.address);
      else {
        failed = true;
        addIssue(Array.isArray(input) ? { message: result.problem, path: [pathItem(input, index)] } : { message: result.problem });
      }
    }
    return failed ? NEVER : out;
  });
}

/**
 * The path item of the header at `index`: a header is named by its position (`headers[3]`), never
 * by its name, which the producer chose (it may hold an address) and the message quotes instead.
 */
function headerPathItem(record: Record<string, unknown>, index: number, name: string): PathItem {
  return { type: 'object', origin: 'value', input: record, key: index as unknown as string, value: record[name] };
}

/** Extra header fields: an object of names to string values (at most {@link MAX_HEADERS}, counted first), turned into a list. */
const headers = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }): MailHeader[] => {
    const input = dataset.value;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      addIssue({ message: `must be an object of header names to values, not ${describeType(input)}` });
      return NEVER;
    }
    const record = input as Record<string, unknown>;
    const names = Object.keys(record);
    if (names.length > MAX_HEADERS) {
      addIssue({ message: `has ${names.length} fields; at most ${MAX_HEADERS} are allowed` });
      return NEVER;
    }
    const out: MailHeader[] = [];
    const seen = new Map<string, string>();
    let failed = false;
    for (const [index, name] of names.entries()) {
      const value = record[name];
      const earlier = seen.get(name.toLowerCase());
      const problem =
        headerNameProblem(name) ??
        (typeof value === 'string'
          ? headerValueProblem(name, value)
          : `the value of ${quoteValue(name)} must be a string, not ${describeType(value)}`) ??
        (earlier === undefined
          ? undefined
          : `${quoteValue(name)} is given twice (also as ${quoteValue(earlier)}); header names are case-insensitive`);
      seen.set(name.toLowerCase(), name);
      if (problem !== undefined) {
        failed = true;
        addIssue({ message: problem, path: [headerPathItem(record, index, name)] });
      } else out.push({ name, value: value as string });
    }
    return failed ? NEVER : out;
  }),
);

const filename = v.pipe(
  text('line', 255),
  v.check((name) => name !== '', 'cannot be empty'),
  v.check((name) => !/[/\\]/.test(name) && name !== '.' && name !== '..', 'must be a file name without a folder (no / or \\)'),
);

/** S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit. */
export const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Longest S3 object key, in characters (S3's own limit is 1,024 octets of UTF-8: a longer non-ASCII key fails when read). */
export const MAX_S3_KEY_LENGTH = 1024;

/**
 * An attachment's content named by reference, `{ bucket, key }`, for a file already in S3: the
 * function reads it as a stream when it sends the message (its role needs read access there).
 */
const s3Reference = v.objectWithRest(
  {
    bucket: v.pipe(v.string(), v.regex(S3_BUCKET_NAME, 'must be an S3 bucket name (3 to 63 lowercase letters, digits, "." and "-")')),
    key: v.pipe(
      v.string(),
      v.minLength(1, 'cannot be empty'),
      v.maxLength(MAX_S3_KEY_LENGTH, `is longer than ${MAX_S3_KEY_LENGTH} characters`),
      v.regex(/^[^\u0000-\u001f\u007f]*$/, 'cannot hold control characters'),
    ),
  },
  v.never('is not a field of s3 (bucket, key)'),
);

const attachment = v.pipe(
  v.objectWithRest(
    {
      filename,
      contentType: v.pipe(
        v.string(),
        v.regex(CONTENT_TYPE, (issue) => `${quoteValue(issue.input)} is not a MIME type like application/pdf or text/plain; charset=utf-8`),
        v.check((type) => !/^multipart\//i.test(type), 'cannot be a multipart type (the product builds the multipart structure)'),
      ),
      content: v.optional(v.pipe(v.string(), v.check(isBase64, 'must be base64 (A-Z, a-z, 0-9, +, / and = padding, no line breaks)'))),
      s3: v.optional(s3Reference),
      contentId: v.optional(
        v.pipe(
          v.string(),
          v.regex(CONTENT_ID, (issue) => `${quoteValue(issue.input)} is not a Content-ID like logo@example.com (without angle brackets)`),
        ),
      ),
    },
    v.never('is not a field of an attachment (filename, contentType, content, s3, contentId)'),
  ),
  // Exactly one of content and s3 (a raw transform: the JSON Schema states it as oneOf, see scripts/mailJobSchema.ts).
  v.rawTransform(({ dataset, addIssue, NEVER }): MailAttachment => {
    const input = dataset.value;
    if (input.content === undefined && input.s3 === undefined) {
      addIssue({ message: 'is required: the bytes in base64 (or s3, a reference to an S3 object)', path: [pathItem(input, 'content')] });
      return NEVER;
    }
    if (input.content !== undefined && input.s3 !== undefined) {
      addIssue({
        message: 'cannot be given with content: an attachment is either inline (content) or a reference (s3)',
        path: [pathItem(input, 's3')],
      });
      return NEVER;
    }
    return {
      filename: input.filename,
      contentType: input.contentType,
      content: input.content === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(input.content, 'base64')),
      ...(input.s3 === undefined ? {} : { s3: input.s3 }),
      ...(input.contentId === undefined ? {} : { contentId: input.contentId }),
    };
  }),
);

/** At most {@link MAX_ATTACHMENTS}, counted before any attachment is checked. */
const attachments = v.pipe(
  v.array(v.unknown()),
  v.maxLength(MAX_ATTACHMENTS, (issue) => `has ${issue.input.length} attachments; at most ${MAX_ATTACHMENTS} are allowed`),
  v.array(attachment),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Set<string>();
    dataset.value.forEach((item, index) => {
      if (item.contentId === undefined) return;
      if (seen.has(item.contentId))
        addIssue({ message: `Content-ID ${quoteValue(item.contentId)} is used twice`, path: [pathItem(dataset.value, index)] });
      seen.add(item.contentId);
    });
  }),
);

/** Most tags a job may carry. */
export const MAX_TAGS = 10;
/** A tag's key: letters, digits and `_ . : -`, 1 to 64 of them. */
export const TAG_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Longest tag value, in characters (printable ASCII, spaces included). */
export const MAX_TAG_VALUE_LENGTH = 256;
/** Longest `delaySeconds`: SQS's own limit of 15 minutes. */
export const MAX_DELAY_SECONDS = 900;
/**
 * `listUnsubscribe.url`: https only (RFC 8058 one-click needs it), a host, then printable ASCII
 * without spaces, `<` or `>` (the URL goes between angle brackets in the header), at most 700
 * characters so that the whole List-Unsubscribe line fits in 998 octets.
 */
export const UNSUBSCRIBE_URL = /^https:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][\x21-\x3b\x3d\x3f-\x7e]*)?$/;
/** Longest `listUnsubscribe.url`. */
export const MAX_UNSUBSCRIBE_URL_LENGTH = 700;
/**
 * `listUnsubscribe.mailto`: `mailto:` (optional: a bare address gets it) with an ASCII address and
 * an optional `?subject=…` query, printable ASCII without spaces, `<` or `>`.
 */
export const UNSUBSCRIBE_MAILTO =
  /^(?:mailto:)?[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?:\?[\x21-\x3b\x3d\x3f-\x7e]*)?$/;
/** Longest `listUnsubscribe.mailto`. */
export const MAX_UNSUBSCRIBE_MAILTO_LENGTH = 250;

/**
 * `tags`: up to {@link MAX_TAGS} key/value strings for the producer's own tracing. They are logged
 * with the outcome and put on a dead letter; they never reach the message.
 */
const tags = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(TAG_KEY, 'a tag key must be 1 to 64 letters, digits, "_", ".", ":" or "-"')),
    v.pipe(
      v.string(),
      v.maxLength(MAX_TAG_VALUE_LENGTH, `a tag value is at most ${MAX_TAG_VALUE_LENGTH} characters`),
      v.regex(/^[\x20-\x7e]*$/, 'a tag value must be printable ASCII (spaces allowed, no control characters)'),
    ),
  ),
  v.maxEntries(MAX_TAGS, (issue) => `has ${Object.keys(issue.input).length} tags; at most ${MAX_TAGS} are allowed`),
);

/** `delaySeconds`: SQS holds the message this long before anyone can receive it (standard queues only). */
const delaySeconds = v.pipe(
  v.number(),
  v.integer('must be a whole number of seconds'),
  v.minValue(0, 'cannot be negative'),
  v.maxValue(MAX_DELAY_SECONDS, `is at most ${MAX_DELAY_SECONDS} seconds (15 minutes, the most SQS delays a message)`),
);

/** `envelopeFrom`: the bounce address (MAIL FROM), a bare address. */
const envelopeFrom = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }): string => {
    const result = parseBareAddress(dataset.value);
    if (result.ok) return result.address.address;
    addIssue({ message: result.problem });
    return NEVER;
  }),
);

/** `listUnsubscribe`: where a reader unsubscribes; at least one of `url` and `mailto`. */
const listUnsubscribe = v.pipe(
  v.objectWithRest(
    {
      url: v.optional(
        v.pipe(
          v.string(),
          v.maxLength(MAX_UNSUBSCRIBE_URL_LENGTH, `is longer than ${MAX_UNSUBSCRIBE_URL_LENGTH} characters`),
          v.regex(UNSUBSCRIBE_URL, 'must be an https:// URL without spaces, line breaks, "<" or ">" (RFC 8058 one-click unsubscribe needs https)'),
        ),
      ),
      mailto: v.optional(
        v.pipe(
          v.string(),
          v.maxLength(MAX_UNSUBSCRIBE_MAILTO_LENGTH, `is longer than ${MAX_UNSUBSCRIBE_MAILTO_LENGTH} characters`),
          v.regex(
            UNSUBSCRIBE_MAILTO,
            'must be an ASCII address or a mailto: URI (mailto:unsubscribe@example.com?subject=stop) without spaces, line breaks, "<" or ">"',
          ),
        ),
      ),
    },
    v.never('is not a field of listUnsubscribe (url, mailto)'),
  ),
  v.minEntries(1, 'is empty: give url, mailto or both'),
);

const version = v.literal(1, (issue) => `must be 1 (the only version of the job format), not ${issue.received}`);
const id = v.pipe(v.string(), v.regex(ID, 'must be 1 to 200 visible ASCII characters (no spaces)'));

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
            from: v.pipe(
              v.unknown(),
              v.rawTransform(({ dataset, addIssue, NEVER }): string => {
                const result = envelopeSender(dataset.value);
                if (result.ok) return result.address.address;
                addIssue({ message: result.problem });
                return NEVER;
              }),
            ),
            to: v.pipe(
              v.array(v.unknown(), (issue) => `must be a list of addresses, not ${describeType(issue.input)}`),
              addressListTransform<unknown[]>(parseBareAddress, { nonEmpty: true }),
            ),
          },
          v.never('is not a field of an envelope (from, to)'),
        ),
        message: v.pipe(
          v.string(),
          v.maxLength(MAX_BODY_LENGTH, `is longer than ${MAX_BODY_LENGTH} characters`),
          v.rawTransform(({ dataset, addIssue, NEVER }): string => {
            const result = checkRawMessage(dataset.value);
            if (result.ok) return result.message;
            for (const problem of result.problems) addIssue({ message: problem });
            return NEVER;
          }),
        ),
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
