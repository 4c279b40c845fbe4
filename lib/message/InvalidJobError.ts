/** One problem found in a mail job: where it is and what is wrong, in plain words. */
export interface JobIssue {
  /** Where, like `to[1]`, `headers["X-Campaign"]` or `attachments[0].content`; `""` for the job as a whole. */
  path: string;
  message: string;
}

/**
 * A mail job that cannot be sent as it is. `issues` lists every problem at once, so that a
 * producer fixes them in one go.
 * @example
 * try { parseMailJob(input); } catch (error) {
 *   if (error instanceof InvalidJobError) for (const { path, message } of error.issues) console.error(path, message);
 * }
 */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
  readonly issues: readonly JobIssue[];

  constructor(issues: readonly JobIssue[]) {
    const listed = issues.map(formatIssue);
    const head = issues.length === 1 ? 'invalid mail job: ' : `invalid mail job (${issues.length} problems): `;
    super(head + listed.join('; '));
    this.issues = issues;
  }
}

/** `path: message`, or the message alone for the job as a whole. */
export function formatIssue(issue: JobIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}
