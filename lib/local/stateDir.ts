/**
 * The local run's state folder (`.local/` at the project root unless `--state-dir` says
 * otherwise, git-ignored): what one run leaves for the next (the TLS material, the SMTP password,
 * the mailbox) and what describes the run going on (`state.json`, read by `mail-queue`).
 *
 * ```
 * .local/
 *   state.json        the running instance: pid, ports, queue URLs (removed on a clean stop)
 *   smtp.json         the local SMTP server's user and password (made on first run, 0600)
 *   tls/ca.pem        the local certificate authority the handler trusts (SMTP_CA_FILE)
 *   tls/server.pem    the SMTP server's certificate and key (ca-key.pem stays beside them)
 *   mail/*.eml        every message the SMTP server accepted, as received
 *   mail/index.ndjson one line per message: envelope, subject, refused recipients
 *   bundle/index.mjs  the send-mail bundle, rebuilt at every start
 *   send-mail.log     the handler's own log lines of the last run (Powertools JSON, EMF metrics)
 *   sqs/              the SQS emulator's database: the queues and their messages, kept across runs
 *                     (`npm start -- --clean` empties it, and the mailbox, before starting)
 * ```
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/sendMailBundle.js';
import { LOCAL_RUN_STATE_FILE, readLocalRunState } from '../publish/localRun.js';
import type { LocalRunState } from '../publish/localRun.js';

/** The default state folder: `.local/` at the project root. */
export const DEFAULT_STATE_DIR = path.join(PROJECT_ROOT, '.local');

/** Paths inside a state folder. */
export interface StateLayout {
  root: string;
  stateFile: string;
  smtpCredentials: string;
  tlsDir: string;
  mailDir: string;
  bundleDir: string;
  handlerLog: string;
  /** The SQS emulator's database (the queues and their messages, kept across runs). */
  sqsDir: string;
}

/** The paths of the state folder `root`. */
export function stateLayout(root: string): StateLayout {
  return {
    root,
    stateFile: path.join(root, LOCAL_RUN_STATE_FILE),
    smtpCredentials: path.join(root, 'smtp.json'),
    tlsDir: path.join(root, 'tls'),
    mailDir: path.join(root, 'mail'),
    bundleDir: path.join(root, 'bundle'),
    handlerLog: path.join(root, 'send-mail.log'),
    sqsDir: path.join(root, 'sqs'),
  };
}

/** The local SMTP server's login. */
export interface SmtpCredentials {
  user: string;
  pass: string;
}

/** Another local run still holds the state folder. */
export class StateDirBusyError extends Error {
  readonly pid: number;
  constructor(root: string, state: LocalRunState) {
    super(
      `another local run (pid ${state.pid}, web page ${state.webUrl}) is using ${root}: stop it first (Ctrl-C in its terminal), ` +
        'or give this one its own folder with --state-dir',
    );
    this.name = 'StateDirBusyError';
    this.pid = state.pid;
  }
}

/**
 * Creates the folders of the state folder, and refuses to go on when another living process
 * holds it (a `state.json` whose pid is alive). A `state.json` left by a run that died is replaced.
 *
 * @throws {StateDirBusyError} when another local run is still using `root`
 */
export async function claimStateDir(layout: StateLayout): Promise<void> {
  const previous = await readLocalRunState(layout.root);
  if (previous !== undefined && previous.pid !== process.pid) throw new StateDirBusyError(layout.root, previous);
  for (const dir of [layout.root, layout.tlsDir, layout.mailDir, layout.bundleDir]) await mkdir(dir, { recursive: true });
}

/**
 * The SMTP login of the local server: made on first run (user `local`, a random password) and
 * kept in `smtp.json` so that every later run, and anything configured with it, keeps working.
 */
export async function smtpCredentials(layout: StateLayout): Promise<SmtpCredentials> {
  try {
    const kept = JSON.parse(await readFile(layout.smtpCredentials, 'utf8')) as Partial<SmtpCredentials>;
    if (typeof kept.user === 'string' && /^[a-z0-9-]+$/.test(kept.user) && typeof kept.pass === 'string' && /^[A-Za-z0-9_-]{16,}$/.test(kept.pass)) {
      return { user: kept.user, pass: kept.pass };
    }
  } catch {
    // missing or unreadable: made anew below
  }
  const made = { user: 'local', pass: randomBytes(18).toString('base64url') };
  await writeFile(layout.smtpCredentials, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600 });
  return made;
}
