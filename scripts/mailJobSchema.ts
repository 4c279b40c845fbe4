/**
 * The JSON Schema (draft 2020-12) of mail job version 1, generated from the valibot schemas that
 * `parseMailJob` runs (lib/message/jobSchema.ts and the field schemas it imports) by valibot's own
 * converter, `@valibot/to-json-schema`.
 *
 * The converter turns the structure into JSON Schema: the two kinds of job, their fields, which are
 * required, unknown fields refused, the literal version, the `id` pattern, the length limits, the
 * attachment object. The parts the code checks with its own parsers (addresses, header fields,
 * text policies, base64), which valibot sees as `unknown` or as custom checks, get their JSON form
 * here from {@link customForms}, keyed by where they sit in the valibot schema and built from the
 * same constants and regular expressions. What JSON Schema cannot say is listed in
 * {@link INEXPRESSIBLE_RULES}, which becomes the schema's `description`.
 *
 * `npm run schema` writes it to schema/mail-job.v1.schema.json; test/message/jobJsonSchema.test.ts
 * fails when that file differs from a fresh generation.
 * @module
 */
import { toJsonSchema, type JsonSchema } from '@valibot/to-json-schema';
import { fileURLToPath } from 'node:url';
import { MAX_HEADER_NAME_LENGTH, MAX_HEADERS, PRODUCT_HEADERS } from '../lib/message/headerRules.js';
import { composedJobSchema, MAX_ATTACHMENTS, MAX_RECIPIENTS, rawJobSchema } from '../lib/message/jobSchema.js';
import { MAX_ADDRESS_OCTETS, MAX_NAME_LENGTH } from '../lib/message/address.js';
import { MAX_RAW_HEADER_LENGTH, MAX_RAW_MESSAGE_LENGTH } from '../lib/message/rawMessage.js';

/** The schema's `$id`. */
export const MAIL_JOB_SCHEMA_ID = 'urn:outbound-mail:mail-job:v1';

/**
 * The rules of `parseMailJob` that JSON Schema cannot express, by name: a job the JSON Schema
 * accepts may still be refused for one of these (and for nothing else). The names are what
 * test/message/jobJsonSchema.test.ts lists its expected disagreements under.
 */
export const INEXPRESSIBLE_RULES = {
  addressSyntax:
    'address syntax: one address per string, "a@example.com" or "Name <a@example.com>" (the whole name optionally in double quotes), a dot-atom local part, a domain of LDH labels with a dot (internationalised domains are converted to A-labels); no comments, quoted local parts, groups, source routes or address literals; names without angle brackets or invisible characters; at most 254 octets, local part 64',
  totalRecipients: `total recipients: to, cc and bcc together hold at most ${MAX_RECIPIENTS} addresses`,
  headerLineLength: 'header line length: name, ": " and value together are at most 998 octets of UTF-8',
  headerNamesCaseInsensitive: 'header names are case-insensitive: the same name twice in different case is refused',
  contentIdsUnique: 'attachments: a contentId is used at most once',
  rawMessage: `raw.message: a header section (up to the first empty line, at most ${MAX_RAW_HEADER_LENGTH} characters) of "Name: value" fields, not starting with a continuation line; a From field; Date, From, Sender, Reply-To, To, Cc, Message-ID, In-Reply-To, References and Subject at most once each; no Bcc or Resent-Bcc field; CR only before LF; lines of at most 998 octets`,
  loneSurrogates: 'text is valid Unicode: no lone surrogate (an unpaired \\uD800-\\uDFFF escape) in any string',
  lengthUnits:
    'lengths count UTF-16 code units (as JavaScript does); JSON Schema counts characters, so text with characters outside the Basic Multilingual Plane (emoji) may pass maxLength here and be refused at its limit',
  jobShape:
    'shape: nesting at most 8 deep, at most 4096 values in all, no __proto__, constructor or prototype key (implied by the structure above for every valid job; a refused job may be refused for its shape first)',
} as const;

/** A name of {@link INEXPRESSIBLE_RULES}. */
export type InexpressibleRule = keyof typeof INEXPRESSIBLE_RULES;

// Character classes of lib/message/characters.ts, written for JSON Schema (ECMA-262) patterns.
const CONTROL = '\\u0000-\\u001f\\u007f-\\u009f';
const CONTROL_EXCEPT_TAB = '\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f';
const INVISIBLE = '\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff';
/** Text policy 'line': no control character, no invisible or text-direction character. */
const LINE = `[^${CONTROL}${INVISIBLE}]`;
/** Text policy 'line-with-tab': the same, TAB allowed. */
const LINE_WITH_TAB = `[^${CONTROL_EXCEPT_TAB}${INVISIBLE}]`;
/** Text policy 'body': no NUL. */
const BODY_PATTERN = '^[^\\u0000]*$';

/** `abc-` -> `[Aa][Bb][Cc]-` (letters, digits and `-` only): JSON Schema patterns have no case-insensitive flag. */
function anyCase(text: string): string {
  return text.replace(/[a-z]/gi, (char) => `[${char.toUpperCase()}${char.toLowerCase()}]`);
}

/*
 * Choices are written as if/then/else, not anyOf, and sizes come before items: the same verdicts,
 * but Python's jsonschema evaluates every branch of an anyOf in full (a hostile list of 200,000
 * items took minutes there), while if/then/else and a failed maxItems stop at the first error.
 */

/** An address: a string with one `@`, or `{ name?, address }`. */
const ADDRESS: JsonSchema = {
  if: { type: 'string' },
  then: { type: 'string', pattern: `^${LINE}*@${LINE}*$` },
  else: {
    type: 'object',
    maxProperties: 2,
    properties: {
      name: { type: 'string', maxLength: MAX_NAME_LENGTH, pattern: `^${LINE}*$` },
      address: { $ref: '#/$defs/bareAddress' },
    },
    required: ['address'],
    additionalProperties: false,
  },
};

/** An address as the SMTP envelope has it: no name, no angle brackets. */
const BARE_ADDRESS: JsonSchema = {
  type: 'string',
  maxLength: MAX_ADDRESS_OCTETS,
  pattern: `^[^${CONTROL}${INVISIBLE}<>]+@[^${CONTROL}${INVISIBLE}<>]+$`,
};

/** One address or a list of them. */
function addressList(minItems: 0 | 1): JsonSchema {
  return {
    if: { type: 'array' },
    then: { type: 'array', maxItems: MAX_RECIPIENTS, ...(minItems === 0 ? {} : { minItems }), items: { $ref: '#/$defs/address' } },
    else: { $ref: '#/$defs/address' },
  };
}

/** Keywords a validator should meet first: the type and the sizes, before any item or field is looked at. */
const SIZES_FIRST = ['type', 'maxItems', 'maxProperties', 'maxLength', 'minItems', 'minProperties', 'minLength'];

/**
 * The schema as every validator reads it alike: a pattern's final `$` becomes `(?![\s\S])`, the
 * end of the text in every dialect (in Python's `re`, which Python's jsonschema uses, `$` also
 * matches before a final newline, so `^[^\n]*$` would take "Hello\n" there); and each object
 * lists its type and sizes first (validators that stop at the first error then refuse a hostile
 * list or object by its size, as parseMailJob does, not after reading 100,000 items).
 */
function forEveryValidator(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forEveryValidator);
  if (typeof schema !== 'object' || schema === null) return schema;
  const rank = (key: string): number => (SIZES_FIRST.includes(key) ? SIZES_FIRST.indexOf(key) : SIZES_FIRST.length);
  const entries = Object.entries(schema).sort(([a], [b]) => rank(a) - rank(b));
  return Object.fromEntries(
    entries.map(([key, value]) => [
      key,
      key === 'pattern' && typeof value === 'string' && /(?<!\\)\$$/.test(value) ? `${value.slice(0, -1)}(?![\\s\\S])` : forEveryValidator(value),
    ]),
  );
}

/** Header names: RFC 5322 field names the product does not write itself, and not a reserved key. */
function headerNamePattern(): string {
  const product = [...PRODUCT_HEADERS].map(anyCase).join('|');
  const reserved = ['__proto__', 'constructor', 'prototype'].join('|');
  return `^(?!(?:${product})$|${anyCase('content-')}|${anyCase('resent-')}|(?:${reserved})$)[\\x21-\\x39\\x3b-\\x7e]+$`;
}

/** The first action of `type` in a pipe schema (to reuse its regular expression). */
function action(schema: unknown, type: string): { requirement: RegExp } {
  const pipe = (schema as { pipe?: { type: string; requirement?: unknown }[] }).pipe ?? [];
  const found = pipe.find((item) => item.type === type);
  if (found === undefined || !(found.requirement instanceof RegExp)) throw new Error(`no ${type} action in the pipe`);
  return { requirement: found.requirement };
}

/**
 * The JSON forms of the pieces the code checks with its own parsers, keyed by the valibot schema
 * object they replace (reached through the exported job schemas, so that a renamed field fails here).
 */
function customForms(): Map<unknown, JsonSchema> {
  const c = composedJobSchema.entries;
  const raw = rawJobSchema.entries.raw.entries;
  const attachmentList = c.attachments.wrapped.pipe[2];
  const attachment = attachmentList.item.pipe[0].entries;
  const line = (maxLength: number, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'string', maxLength, pattern: `^${LINE}*$`, ...extra });
  const forms = new Map<unknown, JsonSchema>([
    [c.from.wrapped, { $ref: '#/$defs/address' }],
    [c.envelopeFrom.wrapped, { $ref: '#/$defs/bareAddress' }],
    [c.to, addressList(1)],
    [c.cc.wrapped, addressList(0)],
    [c.bcc.wrapped, addressList(0)],
    [c.replyTo.wrapped, addressList(0)],
    [c.subject, line(c.subject.pipe[1].requirement)],
    [c.text.wrapped, { type: 'string', maxLength: c.text.wrapped.pipe[1].requirement, pattern: BODY_PATTERN }],
    [c.html.wrapped, { type: 'string', maxLength: c.html.wrapped.pipe[1].requirement, pattern: BODY_PATTERN }],
    [
      c.headers.wrapped,
      {
        type: 'object',
        maxProperties: MAX_HEADERS,
        propertyNames: { maxLength: MAX_HEADER_NAME_LENGTH, pattern: headerNamePattern() },
        additionalProperties: { type: 'string', pattern: `^${LINE_WITH_TAB}*$` },
      },
    ],
    [
      c.attachments.wrapped,
      {
        type: 'array',
        maxItems: MAX_ATTACHMENTS,
        items: { $ref: '#/$defs/attachment' },
      },
    ],
    [
      attachment.filename,
      // Not empty, no folder (/ or \), not . or .., text policy 'line'.
      { type: 'string', minLength: 1, maxLength: 255, pattern: `^(?!\\.\\.?$)(?:(?![/\\\\])${LINE})+$` },
    ],
    [
      attachment.contentType,
      { type: 'string', pattern: action(attachment.contentType, 'regex').requirement.source, not: { pattern: `^${anyCase('multipart/')}` } },
    ],
    // Base64 (RFC 4648): groups of four, the last one padded, no line breaks.
    [attachment.content.wrapped, { type: 'string', pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' }],
    [raw.envelope.entries.from, { anyOf: [{ const: '' }, { $ref: '#/$defs/bareAddress' }] }],
    [raw.envelope.entries.to, { type: 'array', maxItems: MAX_RECIPIENTS, minItems: 1, items: { $ref: '#/$defs/bareAddress' } }],
    [raw.message, { type: 'string', minLength: 1, maxLength: MAX_RAW_MESSAGE_LENGTH, pattern: BODY_PATTERN }],
  ]);
  return forms;
}

/** A pipe's schemas and actions in order, nested pipes flattened (as the converter reads them). */
function flatPipe(schema: unknown): unknown[] {
  const pipe = (schema as { pipe?: unknown[] }).pipe;
  if (pipe === undefined) return [schema];
  return pipe.flatMap((item, index) => (index === 0 ? flatPipe(item) : [item]));
}

/**
 * The JSON Schema of mail job version 1, as committed in schema/mail-job.v1.schema.json.
 * @throws {Error} when a part of the valibot schema has no JSON form (a new field checked by a
 * custom transform or check needs one in {@link customForms}).
 * @example
 * const schema = mailJobJsonSchema();
 * new Ajv2020().compile(schema)({ v: 1, to: 'ann@example.com', subject: 'Hi', text: 'Hello' }); // true
 */
export function mailJobJsonSchema(): JsonSchema {
  // The converter reads a pipe as its first schema followed by its actions: a custom form replaces
  // that first schema, and the pipe's actions (custom checks, limits the form already states) leave it as it is.
  const forms = new Map<unknown, JsonSchema>();
  const ownActions = new Set<unknown>();
  for (const [schema, form] of customForms()) {
    const [first, ...actions] = flatPipe(schema);
    forms.set(first, form);
    for (const item of actions) ownActions.add(item);
  }
  const attachmentObject = composedJobSchema.entries.attachments.wrapped.pipe[2].item;
  const config = {
    target: 'draft-2020-12',
    typeMode: 'input',
    errorMode: 'throw',
    overrideSchema: ({ valibotSchema }) => forms.get(valibotSchema),
    overrideAction: ({ valibotAction, jsonSchema }) => (ownActions.has(valibotAction) ? jsonSchema : undefined),
  } satisfies Parameters<typeof toJsonSchema>[1];
  const composed = toJsonSchema(composedJobSchema, config);
  const raw = toJsonSchema(rawJobSchema, config);
  const attachment = toJsonSchema(attachmentObject, config);
  for (const schema of [composed, raw, attachment]) delete schema.$schema;
  unconstrained(composed, 'composed job');
  unconstrained(raw, 'raw job');
  unconstrained(attachment, 'attachment');
  return forEveryValidator({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: MAIL_JOB_SCHEMA_ID,
    title: 'Mail job, version 1',
    description: [
      'The body of an SQS message on the mail queue: a composed job (the product builds the MIME message) or a raw job (a complete RFC 5322 message and its envelope).',
      'Generated from the valibot schema parseMailJob runs (npm run schema). A job valid here may still be refused by parseMailJob for these rules, which JSON Schema cannot express:',
      ...Object.values(INEXPRESSIBLE_RULES).map((rule) => `- ${rule}.`),
    ].join('\n'),
    // As parseMailJob decides: a job with raw is a raw job.
    if: { type: 'object', required: ['raw'] },
    then: { $ref: '#/$defs/rawJob' },
    else: { $ref: '#/$defs/composedJob' },
    $defs: {
      composedJob: {
        ...composed,
        description: 'A job the product composes. It needs content: text, html or attachments (an empty list counts).',
        anyOf: [{ required: ['text'] }, { required: ['html'] }, { required: ['attachments'] }],
        // listUnsubscribe writes List-Unsubscribe and List-Unsubscribe-Post: headers cannot give them too.
        dependentSchemas: {
          listUnsubscribe: {
            type: 'object',
            properties: {
              headers: { type: 'object', propertyNames: { not: { pattern: `^${anyCase('list-unsubscribe')}(?:${anyCase('-post')})?$` } } },
            },
          },
        },
      },
      rawJob: { ...raw, description: 'A complete RFC 5322 message with an explicit envelope; only v, id, tags, delaySeconds and raw.' },
      address: ADDRESS,
      bareAddress: BARE_ADDRESS,
      // Inline (content) or a reference to an S3 object (s3): exactly one (checked in attachmentSchema.ts's raw transform).
      attachment: { ...attachment, oneOf: [{ required: ['content'] }, { required: ['s3'] }] },
    },
  }) as JsonSchema;
}

/** Throws when a field of `schema` (at any depth) converted to `{}`, anything goes: a field without a JSON form. */
function unconstrained(schema: JsonSchema, what: string): void {
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (typeof property !== 'object') continue;
    const keys = Object.keys(property).filter((key) => key !== 'default' && key !== 'description');
    if (keys.length === 0) throw new Error(`${what}: field ${name} has no JSON form; give it one in scripts/mailJobSchema.ts`);
    unconstrained(property, `${what}.${name}`);
  }
}

/** Where the schema is committed (and where the producer package's build copies it from). */
export const MAIL_JOB_SCHEMA_FILE = fileURLToPath(new URL('../schema/mail-job.v1.schema.json', import.meta.url));

/** The file's text: the schema as JSON, two spaces, and a final newline. */
export function mailJobSchemaText(): string {
  return `${JSON.stringify(mailJobJsonSchema(), null, 2)}\n`;
}
