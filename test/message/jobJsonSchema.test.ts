import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseMailJob } from '../../lib/message/index.js';
import { INEXPRESSIBLE_RULES, MAIL_JOB_SCHEMA_FILE, mailJobSchemaText, type InexpressibleRule } from '../../scripts/mailJobSchema.js';
import { hostileBodies, NORMAL_BODY } from './hostileBodies.js';
import { ACCEPTED_JOBS, ACCEPTED_RAW_JOBS, b64, base, REFUSED_JOBS } from './jobCorpus.js';

const committed = await readFile(MAIL_JOB_SCHEMA_FILE, 'utf8');
// strictRequired off: the content rule's anyOf branches require fields defined beside them, not in them.
const validate = new Ajv2020({ strict: true, strictRequired: false }).compile(JSON.parse(committed) as object);

/** Whether parseMailJob takes `input`. */
function parses(input: unknown): boolean {
  try {
    parseMailJob(input);
    return true;
  } catch {
    return false;
  }
}

const raw = (message: string, from = 'a@example.com') => ({ v: 1, raw: { envelope: { from, to: ['b@example.com'] }, message } });

/** Jobs beyond the parser's own corpus, for rules the JSON Schema states and the corpus does not reach. */
const MORE_JOBS: [name: string, input: unknown][] = [
  ['every field of a composed job', JSON.parse(NORMAL_BODY.body) as unknown],
  ['raw job', raw('From: a@example.com\nSubject: x\n\nbody\n')],
  ['raw job with the null sender', raw('From: <>\r\n\r\nbounce', '')],
  ['raw job with an id', { ...raw('From: a@example.com\r\n\r\nx'), id: 'r-1' }],
  ['an empty attachments list as the only content', { v: 1, to: 'a@example.com', subject: 's', attachments: [] }],
  ['address object with an empty name', { ...base, to: { name: '', address: 'a@example.com' } }],
  ['address object without name', { ...base, cc: [{ address: 'c@example.com' }] }],
  ['address object with an unknown field', { ...base, to: { address: 'a@example.com', mail: 'x' } }],
  ['address object with a numeric name', { ...base, to: { name: 1, address: 'a@example.com' } }],
  ['header named constructor', { ...base, headers: { constructor: 'x' } }],
  ['header X-Content-Type (allowed: not a Content- field)', { ...base, headers: { 'X-Content-Type': 'x' } }],
  ['header Content-Disposition', { ...base, headers: { 'Content-Disposition': 'inline' } }],
  ['header Resent-Date', { ...base, headers: { 'Resent-Date': 'x' } }],
  ['header name of 76 characters', { ...base, headers: { [`X-${'a'.repeat(74)}`]: 'v' } }],
  ['attachment named ..', { ...base, attachments: [{ filename: '..', contentType: 'a/b', content: '' }] }],
  ['attachment named .hidden', { ...base, attachments: [{ filename: '.hidden', contentType: 'a/b', content: '' }] }],
  ['attachment content padded with =', { ...base, attachments: [{ filename: 'a', contentType: 'a/b', content: b64('ab') }] }],
  ['attachment content of 5 characters', { ...base, attachments: [{ filename: 'a', contentType: 'a/b', content: 'aGVsb' }] }],
  ['attachment content type MULTIPART/alternative', { ...base, attachments: [{ filename: 'a', contentType: 'MULTIPART/alternative', content: '' }] }],
  [
    'raw envelope with 101 recipients',
    {
      v: 1,
      raw: { envelope: { from: '', to: Array.from({ length: 101 }, (_, i) => `r${i}@example.com`) }, message: 'From: a@example.com\r\n\r\nx' },
    },
  ],
  ['raw job with a subject field', { ...raw('From: a@example.com\r\n\r\nx'), subject: 's' }],
  ['composed job with a raw field too', { ...base, raw: { envelope: { from: '', to: ['b@example.com'] }, message: 'From: a@example.com\r\n\r\nx' } }],
  ['subject of 998 characters, one of them an emoji (999 UTF-16 code units)', { ...base, subject: `${'x'.repeat(997)}👋` }],
  ['subject of 997 characters and an emoji', { ...base, subject: `${'x'.repeat(996)}👋` }],
  ['__proto__ as a header name', JSON.parse('{"v":1,"to":"a@example.com","subject":"s","text":"t","headers":{"__proto__":"x"}}') as unknown],
  ['__proto__ in an address object', JSON.parse('{"v":1,"to":{"address":"a@example.com","__proto__":{}},"subject":"s","text":"t"}') as unknown],
  ['v as 1.0 in JSON', JSON.parse('{"v":1.0,"to":"a@example.com","subject":"s","text":"t"}') as unknown],
];

/** The parser's hostile queue bodies that are JSON (one is not JSON at all, so not a job). */
const HOSTILE_BODIES = hostileBodies();
const HOSTILE_JOBS: [name: string, input: unknown][] = HOSTILE_BODIES.flatMap((hostile): [string, unknown][] => {
  try {
    return [[hostile.name, JSON.parse(hostile.body) as unknown]];
  } catch {
    return [];
  }
});

/**
 * The jobs the JSON Schema accepts and parseMailJob refuses, each under the rule of
 * INEXPRESSIBLE_RULES (in the schema's description) it breaks. Nothing else may disagree.
 */
const EXPECTED_DISAGREEMENTS: Record<InexpressibleRule, string[]> = {
  addressSyntax: [
    'to comma list in one string',
    'from with two addresses',
    'cc group syntax',
    'bcc comment',
    'replyTo quoted local part',
    'from with angle brackets in the name',
    'to: one address of 1 MiB',
    'to: 100 addresses of 10 KB',
  ],
  totalRecipients: ['101 recipients across to, cc and bcc'],
  headerLineLength: ['header line over 998 octets'],
  headerNamesCaseInsensitive: ['the same header twice in different case'],
  contentIdsUnique: ['duplicate content ids'],
  rawMessage: [
    'raw message starting with continuation',
    'raw message that is not a header',
    'raw message with Bcc',
    'raw message with a 999-octet line',
    'raw message with bare CR',
    'raw message with two From fields',
    'raw message without From',
    'raw message without headers',
    'raw: 209k To fields',
    'raw: 500k malformed header lines',
  ],
  loneSurrogates: ['subject with lone surrogate', 'text with lone surrogate', 'header value lone surrogate', 'raw message with lone surrogate'],
  lengthUnits: ['subject of 998 characters, one of them an emoji (999 UTF-16 code units)'],
  // None: no job of the structure above comes near the depth or value limits, and reserved keys are refused by it.
  jobShape: [],
};

const CORPUS: [name: string, input: unknown][] = [
  ...ACCEPTED_JOBS,
  ...ACCEPTED_RAW_JOBS,
  ...REFUSED_JOBS.map(([name, input]): [string, unknown] => [name, input]),
  ...MORE_JOBS,
  ...HOSTILE_JOBS,
];

describe('the JSON Schema of mail job v1 (schema/mail-job.v1.schema.json)', () => {
  it('is what `npm run schema` generates from the valibot schema now (run it and commit the file when this fails)', () => {
    expect(committed).toBe(mailJobSchemaText());
  });

  it('is draft 2020-12 and names in its description every rule it cannot express', () => {
    const schema = JSON.parse(committed) as { $schema: string; description: string };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    for (const rule of Object.values(INEXPRESSIBLE_RULES)) expect(schema.description).toContain(rule);
  });

  it('runs over a corpus of jobs without duplicate names', () => {
    expect(new Set(CORPUS.map(([name]) => name)).size).toBe(CORPUS.length);
    expect(HOSTILE_JOBS.length).toBe(HOSTILE_BODIES.length - 1);
  });

  const verdicts = CORPUS.map(([name, input]) => ({ name, parsed: parses(input), valid: validate(input) }));

  it('accepts every job parseMailJob accepts', () => {
    expect(verdicts.filter((job) => job.parsed && !job.valid).map((job) => job.name)).toEqual([]);
    expect(verdicts.filter((job) => job.parsed).length).toBeGreaterThanOrEqual(ACCEPTED_JOBS.length);
  });

  it('refuses every job parseMailJob refuses, except those breaking a rule JSON Schema cannot express (listed)', () => {
    const disagreements = verdicts.filter((job) => !job.parsed && job.valid).map((job) => job.name);
    expect(disagreements.sort()).toEqual(Object.values(EXPECTED_DISAGREEMENTS).flat().sort());
    expect(verdicts.filter((job) => !job.parsed).length).toBeGreaterThanOrEqual(REFUSED_JOBS.length);
  });
});
