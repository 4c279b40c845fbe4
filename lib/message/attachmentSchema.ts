/**
 * The valibot schemas of a composed job's `attachments`: each one inline (`content`, base64) or a
 * reference to an S3 object (`s3`), with its file name, MIME type and optional Content-ID.
 * @module
 */
import * as v from 'valibot';
import { quoteValue } from './characters.js';
import { pathItem, text } from './fieldSchemas.js';
import type { MailAttachment } from './types.js';

/** Most attachments. */
export const MAX_ATTACHMENTS = 100;

// Base64 alphabet with at most two '=' at the end; with a length that is a multiple of 4 this is
// exactly RFC 4648 base64. Checked in two steps because the one-regex form (groups of 4) backtracks
// and, on a 900 KB attachment, costs ~25 MB of stack and 60 ms (measured in bench/handlerMemory.ts).
const BASE64_CHARACTERS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (text: string): boolean => text.length % 4 === 0 && BASE64_CHARACTERS.test(text);
const TOKEN = '[A-Za-z0-9!#$&^_.+-]+';
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"))*$`);
const CONTENT_ID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}(?:@[A-Za-z0-9.-]{1,200})?$/;

/** A file name without a folder, on one line. */
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
export const attachments = v.pipe(
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
