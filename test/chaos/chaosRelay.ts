/**
 * The relay of the fault-injection run: the project's test SMTP server (`smtp-server`,
 * test/support/smtpServer.ts) in clear on 127.0.0.1 (so that the fault proxy in front of it sees
 * the commands), with recipients whose fate is known and the relay-side faults of the plan:
 *
 * | recipient local part | RCPT TO |
 * |---|---|
 * | `refuse…+<job>` | `550` always: must never be delivered |
 * | `later…+<job>` | `450` half the time, at random |
 * | `ok…+<job>` | accepted, except a `450` now and then (the plan's temporary refusals) |
 *
 * and, on some connections, a `421` (then the server closes) at the n-th MAIL, RCPT or end of
 * data (the message is then not kept). Every accepted message is a {@link StoredCopy} whose final
 * reply names it (`250 … queued as C17`), so the proxy can tell whether that reply reached the client.
 * @module
 */
import type { SMTPServerSession } from 'smtp-server';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerReply } from '../support/smtpServer.js';
import type { FaultLog } from './FaultLog.js';
import type { SeededRandom } from './random.js';

/** The domain of every address of the run. */
export const CHAOS_DOMAIN = 'chaos.test';

/** What a recipient is known to do. */
export type RecipientKind = 'ok' | 'later' | 'refuse';

/** The kind of a run recipient (`later2+std-0001@chaos.test` → `'later'`), or undefined for a foreign address. */
export function recipientKind(address: string): RecipientKind | undefined {
  return /^(ok|later|refuse)\d*\+/i.exec(address)?.[1]?.toLowerCase() as RecipientKind | undefined;
}

/** One message the relay accepted. */
export interface StoredCopy {
  /** `C<n>`, named in the final reply. */
  copyId: string;
  t: number;
  /** From the Message-ID (the job id, stable across retries). */
  jobId?: string;
  /** The envelope recipients, lower case. */
  recipients: string[];
  /** The relay-side port of the connection (the proxy's upstream socket). */
  remotePort: number;
  /** The proxy connection it came on, when known. */
  conn?: string;
}

/** A permanent refusal the relay gave. */
export interface Refusal {
  t: number;
  recipient: string;
  code: number;
}

/** The relay's fault rates. */
export interface RelayFaults {
  /** Chance that an `ok` recipient is refused for now. */
  rcpt450: number;
  /** Chance that a `later` recipient is refused for now. */
  later450: number;
  /** Chance that a connection gets a 421 somewhere. */
  smtp421: number;
  /**
   * Chance that a connection takes only one or two recipients per transaction and refuses the
   * rest with "too many recipients" (`452 4.5.3`, or `552 5.5.3`, which RFC 5321 says to treat
   * as temporary), as relays with a per-message recipient limit do.
   */
  rcptLimit: number;
}

/** The running relay. */
export interface ChaosRelay {
  port: number;
  copies: StoredCopy[];
  refusals: Refusal[];
  stop(): Promise<void>;
}

interface SessionPlan {
  mails: number;
  rcpts: number;
  datas: number;
  /** RCPTs in the transaction going on. */
  inTransaction: number;
  limit?: { n: number; code: 452 | 552 };
  fault?: { at: 'mail' | 'rcpt' | 'data'; n: number };
}

/**
 * Starts the relay on 127.0.0.1, port 0.
 * @param connOf names the proxy connection of a relay-side port, for the fault log
 */
export async function startChaosRelay(
  faults: RelayFaults,
  random: SeededRandom,
  log: FaultLog,
  connOf: (port: number) => string | undefined,
): Promise<ChaosRelay> {
  const copies: StoredCopy[] = [];
  const refusals: Refusal[] = [];
  const sessions = new Map<string, SessionPlan>();
  const planOf = (session: SMTPServerSession): SessionPlan => {
    let plan = sessions.get(session.id);
    if (plan === undefined) {
      plan = { mails: 0, rcpts: 0, datas: 0, inTransaction: 0 };
      if (random.chance(faults.rcptLimit)) plan.limit = { n: random.int(1, 2), code: random.pick([452, 552] as const) };
      if (random.chance(faults.smtp421)) plan.fault = { at: random.pick(['mail', 'rcpt', 'data'] as const), n: random.int(1, 6) };
      sessions.set(session.id, plan);
    }
    return plan;
  };
  const closing = (session: SMTPServerSession, where: string): SmtpServerReply => {
    log.add('smtp421', where, connOf(session.remotePort));
    return { code: 421, message: 'chaos: service not available, closing channel' };
  };

  const server: SmtpServerHandle = await startSmtpServer({
    auth: false,
    disableSTARTTLS: true,
    onMailFrom: (_address, session) => {
      const plan = planOf(session);
      plan.mails += 1;
      plan.inTransaction = 0;
      if (plan.fault?.at === 'mail' && plan.fault.n === plan.mails) return closing(session, `MAIL #${plan.mails}`);
      return undefined;
    },
    onRcptTo: (address, session) => {
      const plan = planOf(session);
      plan.rcpts += 1;
      if (plan.fault?.at === 'rcpt' && plan.fault.n === plan.rcpts) return closing(session, `RCPT #${plan.rcpts}`);
      if (plan.limit !== undefined && plan.inTransaction >= plan.limit.n) {
        log.add('rcptLimit', `${plan.limit.code} after ${plan.limit.n} recipients`, connOf(session.remotePort));
        return { code: plan.limit.code, message: 'chaos: too many recipients' };
      }
      plan.inTransaction += 1;
      const kind = recipientKind(address);
      if (kind === 'refuse') {
        refusals.push({ t: Date.now(), recipient: address.toLowerCase(), code: 550 });
        return { code: 550, message: 'chaos: this recipient always refuses' };
      }
      if (random.chance(kind === 'later' ? faults.later450 : faults.rcpt450)) {
        log.add('rcpt450', kind ?? 'foreign', connOf(session.remotePort));
        return { code: 450, message: 'chaos: mailbox busy, try again later' };
      }
      return undefined;
    },
    onData: (raw, session) => {
      const plan = planOf(session);
      plan.datas += 1;
      if (plan.fault?.at === 'data' && plan.fault.n === plan.datas) return closing(session, `end of data #${plan.datas} (not kept)`);
      const copy: StoredCopy = {
        copyId: `C${copies.length + 1}`,
        t: Date.now(),
        recipients: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
        remotePort: session.remotePort,
      };
      const jobId = /^Message-ID:\s*<([^@>]+)@/im.exec(raw.subarray(0, 8192).toString('latin1'))?.[1];
      if (jobId !== undefined) copy.jobId = jobId;
      const conn = connOf(session.remotePort);
      if (conn !== undefined) copy.conn = conn;
      copies.push(copy);
      return { code: 250, message: `OK: queued as ${copy.copyId}` };
    },
  });
  return { port: server.port, copies, refusals, stop: () => server.stop() };
}
