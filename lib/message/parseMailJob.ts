import * as v from 'valibot';
import { InvalidJobError, type JobIssue } from './InvalidJobError.js';
import { describeType, quoteValue } from './characters.js';
import { formatPath, type PathKey } from './jobPath.js';
import { composedJobSchema, fallbackMessage, MAX_RECIPIENTS, rawJobSchema } from './jobSchema.js';
import { shapeIssues } from './jobShape.js';
import type { MailJob } from './types.js';

/** Jobs this module returned: {@link composeMail} trusts these and parses anything else. */
const parsedJobs = new WeakSet<MailJob>();

/** Whether `job` came out of {@link parseMailJob} (a look-alike object built elsewhere does not count). */
export function isParsedMailJob(job: unknown): job is MailJob {
  return typeof job === 'object' && job !== null && parsedJobs.has(job as MailJob);
}

/**
 * Checks a mail job (usually `JSON.parse` of a queue message) and returns it in normalised form.
 * Every problem is collected and thrown at once (the first 20 listed, the rest counted). Unknown
 * fields are refused, so that a typo such as `subjet` cannot silently lose data. Reserved keys
 * (`__proto__`, `constructor`, `prototype`) are refused anywhere in the job.
 *
 * Sizes come before items: a job nested too deeply or holding more values than any job holds is
 * refused by its shape alone, and every list and object of the format is measured before its
 * items are checked, so that a hostile job of 1 MiB is refused in a few milliseconds and makes a
 * short error.
 * @throws {InvalidJobError} when anything is wrong; `.issues` lists the problems with their paths
 * (field names and indices only, see {@link JobIssue.path}).
 * @example
 * const job = parseMailJob(JSON.parse(record.body));
 * // job.kind === 'composed': job.to is a list of { name?, address }
 */
export function parseMailJob(input: unknown): MailJob {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidJobError([{ path: '', message: `a mail job must be a JSON object, not ${describeType(input)}` }]);
  }
  const shape = shapeIssues(input);
  const issues = shape.issues;
  if (shape.tooLarge) throw new InvalidJobError(issues);
  const record = input as Record<string, unknown>;
  const isRaw = Object.hasOwn(record, 'raw');
  const result = isRaw
    ? v.safeParse(rawJobSchema, input, { message: fallbackMessage })
    : v.safeParse(composedJobSchema, input, { message: fallbackMessage });
  for (const issue of result.issues ?? []) issues.push(jobIssueOf(issue));
  if (!isRaw) issues.push(...crossFieldIssues(record));
  if (issues.length > 0 || !result.success) throw new InvalidJobError(issues);
  const job = normalise(result.output);
  parsedJobs.add(job);
  return job;
}

function normalise(out: v.InferOutput<typeof rawJobSchema> | v.InferOutput<typeof composedJobSchema>): MailJob {
  if ('raw' in out) {
    return {
      kind: 'raw',
      v: 1,
      ...(out.id === undefined ? {} : { id: out.id }),
      ...(out.tags === undefined ? {} : { tags: out.tags }),
      ...(out.delaySeconds === undefined ? {} : { delaySeconds: out.delaySeconds }),
      envelope: { from: out.raw.envelope.from, to: out.raw.envelope.to.map((a) => a.address) },
      message: out.raw.message.message,
      ...(out.raw.message.source === undefined ? {} : { source: out.raw.message.source }),
    };
  }
  const {
    v: version,
    id,
    from,
    to,
    cc,
    bcc,
    replyTo,
    subject,
    text,
    html,
    headers,
    attachments,
    tags,
    delaySeconds,
    envelopeFrom,
    listUnsubscribe,
  } = out;
  return {
    kind: 'composed',
    v: version,
    to,
    cc,
    bcc,
    replyTo,
    subject,
    headers,
    attachments,
    ...(id === undefined ? {} : { id }),
    ...(from === undefined ? {} : { from }),
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
    // Absent unless given: the content-derived id of a job without them must stay what it was.
    ...(tags === undefined ? {} : { tags }),
    ...(delaySeconds === undefined ? {} : { delaySeconds }),
    ...(envelopeFrom === undefined ? {} : { envelopeFrom }),
    ...(listUnsubscribe === undefined ? {} : { listUnsubscribe: { ...listUnsubscribe } }),
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
  if (count > MAX_RECIPIENTS)
    issues.push({ path: '', message: `has ${count} recipients in to, cc and bcc; at most ${MAX_RECIPIENTS} are allowed per job` });
  issues.push(...unsubscribeConflicts(job));
  return issues;
}

/** `listUnsubscribe` writes List-Unsubscribe and List-Unsubscribe-Post: `headers` cannot give them too. */
function unsubscribeConflicts(job: Record<string, unknown>): JobIssue[] {
  const { listUnsubscribe, headers } = job;
  if (listUnsubscribe === undefined || typeof headers !== 'object' || headers === null || Array.isArray(headers)) return [];
  return Object.keys(headers).flatMap((name, index) =>
    UNSUBSCRIBE_HEADERS.has(name.toLowerCase())
      ? [
          {
            path: `headers[${index}]`,
            message: `${quoteValue(name)} is written from listUnsubscribe; give it in one place only (remove it from headers)`,
          },
        ]
      : [],
  );
}

/** The header fields `listUnsubscribe` writes (lower case). */
const UNSUBSCRIBE_HEADERS: ReadonlySet<string> = new Set(['list-unsubscribe', 'list-unsubscribe-post']);

/** A valibot issue in this package's terms: a path without keys the producer chose, in plain words. */
function jobIssueOf(issue: v.BaseIssue<unknown>): JobIssue {
  const keys: PathKey[] = (issue.path ?? []).map((item) => item.key as PathKey);
  const last = keys.at(-1);
  // An unknown field (the `never` rest of an object): the path names its object, the message the field.
  if (issue.type === 'never' && typeof last === 'string')
    return { path: formatPath(keys.slice(0, -1)), message: `${quoteValue(last)} ${issue.message}` };
  // A field set to `undefined` (possible from JavaScript, not from JSON) counts as missing.
  return { path: formatPath(keys), message: issue.input === undefined ? 'is required' : issue.message };
}
