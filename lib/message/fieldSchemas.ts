/**
 * The valibot schemas of the fields every version 1 job checks with this package's own parsers:
 * addresses and address lists, text with a character policy, extra header fields, `v` and `id`.
 * Each parser runs as a transform, so that every problem of a job is collected in one pass.
 * @module
 */
import * as v from 'valibot';
import { parseAddress } from './address.js';
import { describeType, quoteValue, textProblem, type TextPolicy } from './characters.js';
import { headerNameProblem, headerValueProblem, MAX_HEADERS } from './headerRules.js';
import type { MailAddress, MailHeader } from './types.js';

/** Most recipients (to + cc + bcc, or the raw envelope): the number every SMTP server must accept (RFC 5321 4.5.3.1.8). */
export const MAX_RECIPIENTS = 100;
/** Longest subject, in characters. */
export const MAX_SUBJECT_LENGTH = 998;
/** Longest text or HTML body, in characters (the queue takes 1 MiB per job anyway). */
export const MAX_BODY_LENGTH = 1_048_576;

const ID = /^[\x21-\x7e]{1,200}$/;

type PathItem = v.IssuePathItem;

/** A path item for issues that a transform raises inside an object or list it checks itself. */
export function pathItem(input: Record<string, unknown> | unknown[], key: string | number): PathItem {
  return Array.isArray(input)
    ? { type: 'array', origin: 'value', input, key: key as number, value: input[key as number] }
    : { type: 'object', origin: 'value', input, key: key as string, value: input[key as string] };
}

/** A string checked by one of the {@link textProblem} policies, with a length limit. */
export function text(policy: TextPolicy, maxLength: number) {
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
export const address = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }): MailAddress => {
    const result = parseAddress(dataset.value);
    if (result.ok) return result.address;
    addIssue({ message: result.problem });
    return NEVER;
  }),
);

/** One address read by `parse`, kept as the bare address (`a@example.com`): envelope addresses. */
export function bareAddress(parse: (value: unknown) => ReturnType<typeof parseAddress>) {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }): string => {
      const result = parse(dataset.value);
      if (result.ok) return result.address.address;
      addIssue({ message: result.problem });
      return NEVER;
    }),
  );
}

/** One address or a list of them (at most {@link MAX_RECIPIENTS}); always a list afterwards. */
export function addressList(parse: (value: unknown) => ReturnType<typeof parseAddress>, options: { nonEmpty: boolean }) {
  return v.pipe(v.unknown(), addressListTransform<unknown>(parse, options));
}

/** The transform behind {@link addressList}, also used after an array schema (raw envelopes). */
export function addressListTransform<TInput>(parse: (value: unknown) => ReturnType<typeof parseAddress>, options: { nonEmpty: boolean }) {
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
export const headers = v.pipe(
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

/** `v`: the job format's version, 1 (the only one). */
export const version = v.literal(1, (issue) => `must be 1 (the only version of the job format), not ${issue.received}`);
/** `id`: the producer's job id, which gives the message a stable Message-ID across retries. */
export const id = v.pipe(v.string(), v.regex(ID, 'must be 1 to 200 visible ASCII characters (no spaces)'));
