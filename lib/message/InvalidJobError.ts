/** One problem found in a mail job: where it is and what is wrong, in plain words. */
export interface JobIssue {
  /**
   * Where, like `to[1]`, `headers[3]` (the fourth header field) or `attachments[0].content`; `""`
   * for the job as a whole. Paths are logged, so they hold field names of the job format and
   * indices only: a key the producer chose (a header name, an unknown field) is never in a path,
   * only in the message (`"X-Typo" is not a valid header name`), and a key met below such a key
   * shows as `*`.
   */
  path: string;
  message: string;
}

/** Most problems an {@link InvalidJobError} lists; the rest are counted in one last issue. */
export const MAX_LISTED_ISSUES = 20;

/**
 * A mail job that cannot be sent as it is. `issues` lists the problems at once, so that a
 * producer fixes them in one go: the first {@link MAX_LISTED_ISSUES}, then, when there were more,
 * one issue `and N more problems` (so that a hostile job of a million problems makes a short
 * error). `count` is the number of problems found.
 * @example
 * try { parseMailJob(input); } catch (error) {
 *   if (error instanceof InvalidJobError) for (const { path, message } of error.issues) console.error(path, message);
 * }
 */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
  readonly issues: readonly JobIssue[];
  /** How many problems were found, listed or not. */
  readonly count: number;

  /**
   * @param issues the problems found; only the first {@link MAX_LISTED_ISSUES} are kept.
   * @param count how many problems there were in all, when `issues` holds only some of them.
   */
  constructor(issues: readonly JobIssue[], count = issues.length) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES);
    const more = Math.max(count, issues.length) - listed.length;
    const kept = more > 0 ? [...listed, { path: '', message: `and ${more} more problem${more === 1 ? '' : 's'}` }] : listed;
    const total = listed.length + more;
    const head = total === 1 ? 'invalid mail job: ' : `invalid mail job (${total} problems): `;
    super(head + kept.map(formatIssue).join('; '));
    this.issues = kept;
    this.count = total;
  }
}

/** `path: message`, or the message alone for the job as a whole. */
export function formatIssue(issue: JobIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}
