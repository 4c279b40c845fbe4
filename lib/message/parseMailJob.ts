import * as v from 'valibot';
import { InvalidJobError, type JobIssue } from './InvalidJobError.js';
import { describeType } from './characters.js';
import { composedJobSchema, fallbackMessage, MAX_RECIPIENTS, rawJobSchema } from './jobSchema.js';
import type { MailJob } from './types.js';

/** Jobs this module returned: {@link composeMail} trusts these and parses anything else. */
const parsedJobs = new WeakSet<MailJob>();

/** Whether `job` came out of {@link parseMailJob} (a look-alike object built elsewhere does not count). */
export function isParsedMailJob(job: unknown): job is MailJob {
  return typeof job === 'object' && job !== null && parsedJobs.has(job as MailJob);
}

/** Keys that could reach an object's prototype if some code copied them naively. */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];
/** A job is shallow; anything deeper is refused before it is walked. */
const MAX_DEPTH = 8;

/**
 * Checks a mail job (usually `JSON.parse` of a queue message) and returns it in normalised form.
 * Every problem is collected and thrown at once. Unknown fields are refused, so that a typo such
 * as `subjet` cannot silently lose data. Reserved keys (`__proto__`, `constructor`, `prototype`)
 * are refused anywhere in the job.
 * @throws {InvalidJobError} when anything is wrong; `.issues` lists each problem with its path.
 * @example
 * const job = parseMailJob(JSON.parse(record.body));
 * // job.kind === 'composed': job.to is a list of { name?, address }
 */
export function parseMailJob(input: unknown): MailJob {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidJobError([{ path: '', message: `a mail job must be a JSON object, not ${describeType(input)}` }]);
  }
  const issues = reservedKeyIssues(input, [], 0);
  const record = input as Record<string, unknown>;
  const isRaw = Object.hasOwn(record, 'raw');
  const result = isRaw
    ? v.safeParse(rawJobSchema, input, { message: fallbackMessage })
    : v.safeParse(composedJobSchema, input, { message: fallbackMessage });
  // A field set to `undefined` (possible from JavaScript, not from JSON) counts as missing.
  for (const issue of result.issues ?? []) issues.push({ path: formatPath(issue.path), message: issue.input === undefined ? 'is required' : issue.message });
  if (!isRaw) issues.push(...crossFieldIssues(record));
  if (issues.length > 0 || !result.success) throw new InvalidJobError(issues);
  const job = normalise(result.output);
  parsedJobs.add(job);
  return job;
}

function normalise(out: v.InferOutput<typeof rawJobSchema> | v.InferOutput<typeof composedJobSchema>): MailJob {
  if ('raw' in out) {
    return { kind: 'raw', v: 1, ...(out.id === undefined ? {} : { id: out.id }), envelope: { from: out.raw.envelope.from, to: out.raw.envelope.to.map((a) => a.address) }, message: out.raw.message };
  }
  const { v: version, id, from, to, cc, bcc, replyTo, subject, text, html, headers, attachments } = out;
  return {
    kind: 'composed', v: version, to, cc, bcc, replyTo, subject, headers, attachments,
    ...(id === undefined ? {} : { id }),
    ...(from === undefined ? {} : { from }),
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
  };
}

/** Rules across fields of a composed job, checked on the input so that they are reported along with everything else. */
function crossFieldIssues(job: Record<string, unknown>): JobIssue[] {
  const issues: JobIssue[] = [];
  if (job.text === undefined && job.html === undefined && job.attachments === undefined) {
    issues.push({ path: '', message: 'has no content: give text, html or at least one attachment' });
  }
  const count = ['to', 'cc', 'bcc'].reduce((sum, key) => {
    const value = job[key];
    return sum + (Array.isArray(value) ? value.length : value === undefined ? 0 : 1);
  }, 0);
  if (count > MAX_RECIPIENTS) issues.push({ path: '', message: `has ${count} recipients in to, cc and bcc; at most ${MAX_RECIPIENTS} are allowed per job` });
  return issues;
}

function reservedKeyIssues(value: unknown, path: (string | number)[], depth: number): JobIssue[] {
  if (typeof value !== 'object' || value === null) return [];
  if (depth > MAX_DEPTH) return [{ path: formatKeys(path), message: 'is nested too deeply for a mail job' }];
  const issues: JobIssue[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => issues.push(...reservedKeyIssues(item, [...path, index], depth + 1)));
    return issues;
  }
  for (const key of Object.keys(value)) {
    if (RESERVED_KEYS.includes(key)) {
      issues.push({ path: formatKeys([...path, key]), message: 'is a reserved name and not allowed anywhere in a mail job' });
    } else {
      issues.push(...reservedKeyIssues((value as Record<string, unknown>)[key], [...path, key], depth + 1));
    }
  }
  return issues;
}

function formatPath(path: readonly v.IssuePathItem[] | undefined): string {
  return formatKeys((path ?? []).map((item) => item.key as string | number));
}

/** `to[1].address`, `headers["X-Campaign"]`: the path in the form a JavaScript reader expects. */
export function formatKeys(keys: readonly (string | number)[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}
