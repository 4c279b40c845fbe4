/**
 * One job's message sent in as many transactions as its recipients need, on the same connection
 * (Postfix's `smtp_destination_recipient_limit` behaviour): split before sending when a
 * per-message limit is set (`MAIL_MAX_RECIPIENTS`), and again whenever the relay refuses
 * recipients with "too many recipients" (452/552 X.5.3, see {@link isTooManyRecipients}), until
 * every recipient has an answer of its own. The same message (same bytes, same Message-ID) goes
 * in every transaction.
 * @module
 */
import { RecipientsRefusedError, SmtpError } from '../smtp/errors.js';
import type { RefusedRecipient, SendResult } from '../smtp/types.js';
import { isConnectionLoss, isTooManyRecipients, outcomeOfResult, outcomeOfSendError, refusedForNow } from './outcome.js';
import type { Outcome } from './outcome.js';
import type { ComposedMessage, MailSender } from './sendJobs.js';

/**
 * The recipients per message for one connection: the configured limit, lowered to what the relay
 * took in a transaction where it answered "too many recipients", so that the next messages on
 * the connection are split before they are sent.
 */
export interface RecipientLimit {
  /** Absent: no limit known; every recipient goes in the first transaction. */
  perMessage?: number;
}

/** How a job's transactions run. */
export interface PartsPlan {
  limit: RecipientLimit;
  /** Asked before each further round of transactions; `false` (time short, connection gone) stops them. */
  canContinue(): boolean;
  /**
   * Told, as each transaction is answered, which of its recipients took the message (before the
   * job's other transactions are done: the delivery ledger records them at once).
   */
  onPart?(sent: readonly string[], accepted: readonly string[]): void;
}

/** The job's outcome over all its transactions, and the error that ended one of them, if any (for the session's connection-loss rules). */
export interface PartsOutcome {
  outcome: Outcome;
  error?: unknown;
}

type Part = { recipients: string[]; result: SendResult } | { recipients: string[]; error: unknown };

/**
 * Sends `mail` to every recipient of its envelope in as few transactions as the limits allow.
 *
 * Rounds: the first sends the envelope in chunks of `limit.perMessage` (handed to the client
 * together, so they pipeline); each further round sends the recipients the previous one refused
 * as "too many", in chunks of the lowered limit. A round runs only if the previous one gave at
 * least one recipient an answer of its own (so it always ends), no transaction of it failed for
 * another reason, and `canContinue()`.
 *
 * The outcome: a job sent in one transaction keeps exactly the outcome of that send. Otherwise
 * the recipients who took it count as `accepted` and every other recipient keeps the last answer
 * it got: refused for good (5xx), or for now (4xx, "too many recipients" left over, a transaction
 * that failed for now; a transaction without a reply of its own, such as a connection lost or an
 * end of data without a reply, gives its recipients code 0) and is re-enqueued on its own. When
 * nobody took it, the job's outcome is that of a single send over every refusal, or of the first
 * failed transaction.
 *
 * Never throws.
 */
export async function sendInParts(sender: MailSender, mail: ComposedMessage, plan: PartsPlan): Promise<PartsOutcome> {
  const parts: Part[] = [];
  let pending = distinct(mail.envelope.to);
  for (let round = 0; pending.length > 0; round += 1) {
    if (round > 0 && !safely(() => plan.canContinue())) break;
    const chunks = chunk(pending, plan.limit.perMessage);
    const sent = await Promise.all(chunks.map((to) => attempt(sender, { from: mail.envelope.from, to }, mail.message, plan)));
    parts.push(...sent);
    pending = [];
    let progress = false;
    let failed = false;
    for (const part of sent) {
      const tooMany = refusalsOf(part)
        .filter(isTooManyRecipients)
        .map((r) => r.recipient);
      if ('error' in part && !(part.error instanceof RecipientsRefusedError)) failed = true;
      else if (tooMany.length < part.recipients.length) progress = true;
      if ('result' in part && tooMany.length > 0) {
        // The relay's limit is at most what it took here: split the rest (and later messages) to fit.
        plan.limit.perMessage = Math.min(plan.limit.perMessage ?? Infinity, Math.max(1, part.result.accepted.length));
      }
      pending.push(...tooMany);
    }
    if (!progress || failed) break;
  }
  return combine(parts);
}

async function attempt(
  sender: MailSender,
  envelope: { from: string; to: string[] },
  message: ComposedMessage['message'],
  plan: Pick<PartsPlan, 'onPart'>,
): Promise<Part> {
  try {
    const result = await sender.send(envelope, message);
    safely(() => {
      plan.onPart?.(envelope.to, result.accepted);
      return true;
    });
    return { recipients: envelope.to, result };
  } catch (error) {
    return { recipients: envelope.to, error };
  }
}

function combine(parts: readonly Part[]): PartsOutcome {
  // No transaction at all: the envelope had nobody left to send to.
  if (parts.length === 0) return { outcome: { kind: 'permanent', reason: { phase: 'rcpt', message: 'the job has no recipient left to send to' } } };
  const errors = parts.flatMap((part) => ('error' in part ? [part.error] : []));
  const loss = errors.find((error) => isConnectionLoss(error) || (error instanceof SmtpError && (error.ambiguous || error.code === 421)));
  const error = loss ?? errors[0];
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined)
    return 'result' in only ? { outcome: outcomeOfResult(only.result) } : { outcome: outcomeOfSendError(only.error), error: only.error };

  // Each recipient's last answer: a recipient is in a later part only if an earlier one said "too many".
  const accepted: string[] = [];
  const last = new Map<string, RefusedRecipient>();
  for (const part of parts) {
    if ('result' in part) {
      accepted.push(...part.result.accepted);
      for (const r of part.result.rejected) last.set(r.recipient, r);
    } else if (part.error instanceof RecipientsRefusedError) {
      for (const r of part.error.rejected) last.set(r.recipient, r);
    } else {
      for (const recipient of part.recipients) last.set(recipient, unanswered(recipient, part.error));
    }
  }
  for (const recipient of accepted) last.delete(recipient);
  const refused = [...last.values()];
  const withError = (outcome: Outcome): PartsOutcome => (error === undefined ? { outcome } : { outcome, error });

  if (accepted.length > 0) {
    if (refused.length === 0) return withError({ kind: 'delivered', accepted: accepted.length });
    return withError({
      kind: 'partlyRefused',
      accepted: accepted.length,
      refusedPermanently: refused.filter((r) => !refusedForNow(r)),
      refusedForNow: refused.filter(refusedForNow),
    });
  }
  // Nobody took it: nobody has the message, so the job as a whole may be retried or dead-lettered.
  const other = errors.find((e) => !(e instanceof RecipientsRefusedError));
  if (other !== undefined) return { outcome: outcomeOfSendError(other), error: other };
  const first = errors[0] as RecipientsRefusedError;
  const every = new RecipientsRefusedError(first.message, {
    phase: first.phase,
    ...(first.code === undefined ? {} : { code: first.code }),
    ...(first.enhancedCode === undefined ? {} : { enhancedCode: first.enhancedCode }),
    transient: refused.some(refusedForNow),
    rejected: refused,
  });
  return withError(outcomeOfSendError(every));
}

/** A recipient whose transaction failed without an answer for it: refused for now, with the error's code (0 without one). */
function unanswered(recipient: string, error: unknown): RefusedRecipient {
  if (error instanceof SmtpError) {
    const forGood = !error.transient && !error.ambiguous && error.code !== undefined;
    const refusal: RefusedRecipient = {
      recipient,
      code: error.code ?? 0,
      message: error.ambiguous ? `no reply after the data: ${error.message}` : error.message,
      transient: !forGood,
    };
    if (error.enhancedCode !== undefined) refusal.enhancedCode = error.enhancedCode;
    return refusal;
  }
  return { recipient, code: 0, message: error instanceof Error ? error.message : String(error), transient: true };
}

function refusalsOf(part: Part): RefusedRecipient[] {
  if ('result' in part) return part.result.rejected;
  return part.error instanceof RecipientsRefusedError ? part.error.rejected : [];
}

/**
 * The envelope's recipients, each once (the first spelling kept): a raw job's envelope is the
 * producer's and may name one twice, which split into transactions would be two copies. Same rule
 * as a composed job's envelope (lib/message/envelope.ts): the domain's case does not count, the
 * local part's does.
 */
function distinct(recipients: readonly string[]): string[] {
  const seen = new Set<string>();
  return recipients.filter((recipient) => {
    const at = recipient.lastIndexOf('@');
    const key = at < 0 ? recipient : `${recipient.slice(0, at)}@${recipient.slice(at + 1).toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function chunk(list: readonly string[], size: number | undefined): string[][] {
  if (size === undefined || size >= list.length) return [[...list]];
  const chunks: string[][] = [];
  for (let start = 0; start < list.length; start += size) chunks.push(list.slice(start, start + size));
  return chunks;
}

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
