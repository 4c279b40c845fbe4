/**
 * An environment's `allowedRecipients`: the only recipients its function may mail, so that a
 * non-production stack can never mail a real customer. Checked here for both `cdk.json`
 * (infra/config.ts) and the `OutboundMail` prop, and handed to the function as
 * `MAIL_ALLOWED_RECIPIENTS` (comma-separated); the function leaves every other recipient out
 * (outcome `suppressed`, metric `RecipientsSuppressed`).
 *
 * An entry is one of:
 * - an address, `qa-inbox@example.com`: that mailbox only;
 * - a domain, `example.com`: every mailbox of that domain, not of its subdomains;
 * - a domain with a leading dot, `.example.com`: every mailbox of every subdomain of it
 *   (`a.example.com`, `b.a.example.com`), not of `example.com` itself.
 * @module
 */

/** Most entries: the list travels in one environment variable (Lambda's variables share 4 KB). */
export const MAX_ALLOWED_RECIPIENTS = 100;
/** Most characters of `MAIL_ALLOWED_RECIPIENTS`, leaving the rest of the 4 KB to the other variables. */
export const MAX_ALLOWED_RECIPIENTS_LENGTH = 2048;

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN = new RegExp(`^(?:${LABEL}\\.)+${LABEL}$`);
/**
 * A local part without spaces, commas, quotes, angle brackets or control characters (the list is
 * comma-separated), nor `*` (valid in an address, but here surely meant as a wildcard, which this list has not).
 */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'+/=?^_`{|}~.-]{1,64}$/;

/**
 * The problem with one entry, or undefined when it is a usable address, domain or `.domain`.
 * @example
 * allowedRecipientProblem('example.com'); // undefined
 * allowedRecipientProblem('*.example.com'); // 'is not an address (...)'
 */
export function allowedRecipientProblem(entry: string): string | undefined {
  const at = entry.lastIndexOf('@');
  const domain = at === -1 ? entry.replace(/^\./, '') : entry.slice(at + 1);
  const local = at === -1 ? undefined : entry.slice(0, at);
  const domainOk = domain.length <= 253 && DOMAIN.test(domain);
  const localOk = local === undefined || (LOCAL_PART.test(local) && !local.startsWith('.') && !local.endsWith('.') && !local.includes('..'));
  if (domainOk && localOk && !(at !== -1 && entry.startsWith('.'))) return undefined;
  return (
    `${JSON.stringify(entry)} is not an address (name@example.com), a domain (example.com) ` +
    'or a domain with a leading dot for its subdomains (.example.com); wildcards and display names are not accepted'
  );
}

/**
 * The problem with a whole list, or undefined when every entry is usable: at least one entry (an
 * empty list would allow nothing while looking like a setting), at most {@link MAX_ALLOWED_RECIPIENTS},
 * no duplicates, at most {@link MAX_ALLOWED_RECIPIENTS_LENGTH} characters once joined.
 */
export function allowedRecipientsProblem(entries: readonly unknown[]): string | undefined {
  if (entries.length === 0) return 'must list at least one address or domain (leave it out to allow every recipient)';
  if (entries.length > MAX_ALLOWED_RECIPIENTS) return `must have at most ${MAX_ALLOWED_RECIPIENTS} entries, got ${entries.length}`;
  const seen = new Set<string>();
  for (const entry of entries) {
    if (typeof entry !== 'string') return `must hold strings only, got ${JSON.stringify(entry)}`;
    const problem = allowedRecipientProblem(entry);
    if (problem !== undefined) return problem;
    const key = entry.toLowerCase();
    if (seen.has(key)) return `lists ${JSON.stringify(entry)} twice`;
    seen.add(key);
  }
  const length = allowedRecipientsVariable(entries as string[]).length;
  if (length > MAX_ALLOWED_RECIPIENTS_LENGTH) return `is ${length} characters long once joined; at most ${MAX_ALLOWED_RECIPIENTS_LENGTH} fit`;
  return undefined;
}

/**
 * The function's `MAIL_ALLOWED_RECIPIENTS`: the entries joined with commas.
 * @example
 * allowedRecipientsVariable(['example.com', 'qa@example.net']); // 'example.com,qa@example.net'
 */
export function allowedRecipientsVariable(entries: readonly string[]): string {
  return entries.join(',');
}
