/**
 * Recipients of the local SMTP server that refuse, so that every outcome can be seen locally:
 *
 * | recipient | reply to RCPT TO |
 * |---|---|
 * | `refuse@…` (or `refuse+anything@…`) | `550` always: a permanent refusal |
 * | `later@…` (or `later+anything@…`) | `450` the first time, accepted the next; and so on, taking turns, per address |
 * | anything else | accepted |
 * @module
 */

/** The server's answer to one RCPT TO. */
export type RecipientVerdict = { accept: true } | { accept: false; code: 450 | 550; message: string };

/**
 * Decides RCPT TO replies. One instance per server: the turns of `later@` addresses are counted
 * per address (case-insensitive) for as long as the server runs.
 * @example
 * const rules = new RecipientRules();
 * rules.verdict('later@example.com'); // { accept: false, code: 450, ... }
 * rules.verdict('later@example.com'); // { accept: true }
 */
export class RecipientRules {
  readonly #attempts = new Map<string, number>();

  /** The reply to `RCPT TO:<address>`. */
  verdict(address: string): RecipientVerdict {
    const key = address.toLowerCase();
    const at = key.lastIndexOf('@');
    const local = (at === -1 ? key : key.slice(0, at)).split('+')[0];
    if (local === 'refuse') return { accept: false, code: 550, message: 'Mailbox unavailable: this local recipient always refuses' };
    if (local === 'later') {
      const attempt = (this.#attempts.get(key) ?? 0) + 1;
      this.#attempts.set(key, attempt);
      if (attempt % 2 === 1) return { accept: false, code: 450, message: 'Mailbox busy: this local recipient takes mail on the next try' };
    }
    return { accept: true };
  }
}
