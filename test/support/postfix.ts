import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeServerCertificate } from './postfix/certificate.js';
import {
  DEFAULT_SIZE_LIMIT,
  MAIL_DOMAIN,
  SASL_USER,
  renderDovecotConf,
  renderDovecotPasswd,
  renderDovecotUsers,
  renderMainCf,
  renderMasterCf,
  renderRecipientAccess,
  renderVirtualMailboxes,
  type InstanceSettings,
} from './postfix/config.js';
import { instanceLayout, type InstanceLayout } from './postfix/layout.js';
import { homePathRecipient, Mailbox, type DeliveredMessage } from './postfix/Mailbox.js';
import { exists, freePort, greets, startDaemon, stopProcessTree, waitUntil, type Daemon } from './postfix/processes.js';

export type { DeliveredMessage } from './postfix/Mailbox.js';
export { Mailbox } from './postfix/Mailbox.js';
export { DEFERRED_RECIPIENT, LMTP_OVER_QUOTA_RECIPIENT, MAIL_DOMAIN, REFUSED_RECIPIENT, SASL_USER } from './postfix/config.js';

const POSTFIX = '/usr/sbin/postfix';
const DOVECOT = '/usr/sbin/dovecot';
const DOVECOT_LMTP = '/usr/lib/dovecot/lmtp';
const START_TIMEOUT_MS = 15_000;
/** smtpd's greeting (`smtpd_banner`), so that we never take another server on the port for ours. */
const POSTFIX_BANNER = `220 mx.${MAIL_DOMAIN} ESMTP`;
/**
 * The modification time given to Postfix's config files. Postfix waits, in 300 ms steps, until a
 * config file is a couple of seconds old in case it is still being edited; backdating them saves
 * those seconds at every start.
 */
const SETTLED = new Date('2020-01-01T00:00:00Z');

/** What {@link startPostfix} can change; everything else is fixed (see `postfix/config.ts`). */
export interface PostfixOptions {
  /**
   * Advertise CHUNKING (BDAT). Off means `chunking` in `smtpd_discard_ehlo_keywords`.
   * @default true
   */
  readonly chunking?: boolean;
  /**
   * Advertise PIPELINING. Off means `pipelining` in `smtpd_discard_ehlo_keywords`.
   * @default true
   */
  readonly pipelining?: boolean;
  /**
   * `smtpd_recipient_limit`: recipients past this many in one transaction are refused with
   * `452 4.5.3 Error: too many recipients`.
   * @default Postfix's 1000
   */
  readonly recipientLimit?: number;
  /**
   * `message_size_limit` in bytes, advertised as `SIZE` (the bench's 40 MB messages need more).
   * @default 10 MiB
   */
  readonly sizeLimit?: number;
}

/** A running private Postfix (with its Dovecot) and how to reach, inspect and stop it. */
export interface PostfixServer {
  /** Always `127.0.0.1`: nothing of the instance listens anywhere else. */
  readonly host: '127.0.0.1';
  /** The submission port: STARTTLS required, AUTH PLAIN/LOGIN after it. */
  readonly port: number;
  /** PEM of the throwaway CA that signed the server's certificate (for `localhost` and `127.0.0.1`). */
  readonly ca: string;
  /** The SASL user (`relay@example.test`). */
  readonly user: string;
  /** Its password, generated at start. */
  readonly pass: string;
  /** `message_size_limit` in bytes (advertised as `SIZE`). */
  readonly sizeLimit: number;
  /** Dovecot's LMTP unix socket; delivers any `*@example.test` except `full@example.test` (552 after the data). */
  readonly lmtpSocket: string;
  /** What Dovecot's LMTP delivered (separate from {@link PostfixServer.readMailbox}). */
  readonly lmtpMailbox: Mailbox;
  /** Every message Postfix delivered so far, oldest first. */
  readMailbox(): Promise<DeliveredMessage[]>;
  /**
   * Waits until at least `count` messages have been delivered through Postfix's queue.
   * @throws Error with the log tail when `timeoutMs` (default 10 s) passes first.
   */
  waitForMessages(count: number, timeoutMs?: number): Promise<DeliveredMessage[]>;
  /** Deletes every message Postfix delivered. */
  clearMailbox(): Promise<void>;
  /** The last lines of Postfix's and Dovecot's logs, for error messages. */
  logTail(lines?: number): string;
  /** Stops Postfix and Dovecot, waits until all their processes are gone and removes the temp directory. */
  stop(): Promise<void>;
}

/**
 * Starts a private Postfix instance with Dovecot for SASL AUTH and LMTP, all in a fresh temp
 * directory and on 127.0.0.1 only, for tests and benchmarks that need a real MTA.
 *
 * The instance: smtpd on a free port with STARTTLS required (certificate from a throwaway CA made
 * now), AUTH PLAIN/LOGIN through Dovecot after TLS, SIZE 10 MiB (unless `sizeLimit`), PIPELINING, CHUNKING, 8BITMIME,
 * SMTPUTF8; delivery to one Maildir per `*@example.test` recipient; `refuse@example.test` gets
 * `550 5.1.1` and `later@example.test` `450 4.2.0` at RCPT; other domains are refused (nothing
 * leaves). Nothing is written to `/etc/postfix` or `/etc/dovecot`: Postfix runs from its own config
 * directory (`postfix -c <dir> start-fg`, which root may do without `alternate_config_directories`).
 *
 * Needs root (Postfix's master runs as root) and the Debian packages: `bash scripts/postfix.sh install`.
 *
 * @throws Error when not root, when Postfix or Dovecot is not installed, or when either does not
 *   come up within 15 s (with their output and log tail).
 * @example
 * const postfix = await startPostfix({ chunking: false });
 * try {
 *   const transport = nodemailer.createTransport({
 *     host: postfix.host, port: postfix.port, secure: false, requireTLS: true,
 *     auth: { user: postfix.user, pass: postfix.pass }, tls: { ca: postfix.ca },
 *   });
 *   await transport.sendMail({ from: 'sender@example.test', to: 'a@example.test', text: 'hi' });
 *   const [message] = await postfix.waitForMessages(1);
 * } finally {
 *   await postfix.stop();
 * }
 */
export async function startPostfix(options: PostfixOptions = {}): Promise<PostfixServer> {
  if (process.getuid?.() !== 0) {
    throw new Error('startPostfix needs root: Postfix starts its master daemon as root (run the tests as root, as CI does)');
  }
  for (const binary of [POSTFIX, DOVECOT, DOVECOT_LMTP]) {
    if (!(await exists(binary))) {
      throw new Error(`${binary} not found: install Postfix and Dovecot with \`bash scripts/postfix.sh install\``);
    }
  }

  // Under /tmp rather than $TMPDIR: Postfix's and Dovecot's unprivileged users must be able to walk
  // into it, which a TMPDIR below a private home directory would not allow.
  const layout = instanceLayout(await mkdtemp(join('/tmp', 'outbound-postfix-')));
  let dovecot: Daemon | undefined;
  let postfix: Daemon | undefined;
  let masterPid: number | undefined;
  const logTail = (lines = 40): string => describeLogs(layout, lines, [postfix, dovecot]);
  const stopPostfix = async (): Promise<void> => {
    const wrapper = postfix?.child.pid;
    masterPid ??= readMasterPid(layout);
    const postfixPid = masterPid ?? wrapper;
    if (postfixPid !== undefined) await stopProcessTree(postfixPid, { roots: wrapper === undefined ? [] : [wrapper] });
    masterPid = undefined;
  };
  const stopAll = async (): Promise<void> => {
    await stopPostfix();
    if (dovecot?.child.pid !== undefined) await stopProcessTree(dovecot.child.pid, { signalTree: true });
    await rm(layout.root, { recursive: true, force: true });
  };
  // Best effort when the test process ends without stop(): no daemon outlives its test run.
  const onExit = (): void => {
    for (const pid of [masterPid, dovecot?.child.pid]) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', onExit);

  try {
    const settings: InstanceSettings = {
      layout,
      port: await freePort(),
      sizeLimit: options.sizeLimit ?? DEFAULT_SIZE_LIMIT,
      chunking: options.chunking ?? true,
      pipelining: options.pipelining ?? true,
      ...(options.recipientLimit === undefined ? {} : { recipientLimit: options.recipientLimit }),
      ...(await mailOwner()),
    };
    const pass = randomBytes(18).toString('base64url');
    const certificate = await makeServerCertificate();
    await writeInstance(settings, pass, certificate.certPem, certificate.keyPem);

    dovecot = startDaemon(DOVECOT, ['-F', '-c', join(layout.dovecot, 'dovecot.conf')]);
    const dovecotDaemon = dovecot;
    await waitUntil(
      'Dovecot did not open its auth and LMTP sockets',
      async () => (await exists(layout.authSocket)) && (await exists(layout.lmtpSocket)),
      { timeoutMs: START_TIMEOUT_MS, failed: () => dovecotDaemon.exited(), describe: () => logTail() },
    );

    // The port was free a moment ago; should someone take it meanwhile, master cannot bind:
    // pick another one and try again.
    let port = settings.port;
    for (let attempt = 1; ; attempt += 1) {
      postfix = startDaemon(POSTFIX, ['-c', layout.postfixConfig, 'start-fg']);
      const postfixDaemon = postfix;
      try {
        await waitUntil(`Postfix did not greet on 127.0.0.1:${port}`, () => greets(port, POSTFIX_BANNER), {
          timeoutMs: START_TIMEOUT_MS,
          failed: () => postfixDaemon.exited(),
          describe: () => logTail(),
        });
        break;
      } catch (error) {
        if (attempt === 3 || !logTail(5).includes(`port ${port}: Address already in use`)) throw error;
        await stopPostfix();
        port = await freePort();
        await writeFile(join(layout.postfixConfig, 'master.cf'), renderMasterCf({ ...settings, port }));
        await utimes(join(layout.postfixConfig, 'master.cf'), SETTLED, SETTLED);
      }
    }
    masterPid = readMasterPid(layout);
    if (masterPid === undefined) throw new Error(`Postfix answered but left no readable master.pid\n${logTail()}`);

    const mailbox = new Mailbox(layout.mail, () => logTail());
    let stopping: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      ca: certificate.caPem,
      user: SASL_USER,
      pass,
      sizeLimit: settings.sizeLimit,
      lmtpSocket: layout.lmtpSocket,
      lmtpMailbox: new Mailbox(layout.lmtpMail, () => logTail(), homePathRecipient),
      readMailbox: () => mailbox.read(),
      waitForMessages: (count, timeoutMs) => mailbox.waitFor(count, timeoutMs),
      clearMailbox: () => mailbox.clear(),
      logTail,
      stop: () => {
        stopping ??= stopAll().finally(() => process.removeListener('exit', onExit));
        return stopping;
      },
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    process.removeListener('exit', onExit);
    throw error;
  }
}

/** The user and group delivered mail belongs to: `nobody`, so no real account is involved. */
async function mailOwner(): Promise<{ mailUid: number; mailGid: number }> {
  const { uid, gid } = await userIds('nobody');
  return { mailUid: uid, mailGid: gid };
}

/** Writes every config file, table, certificate and directory the instance needs, with the owners Postfix checks. */
async function writeInstance(settings: InstanceSettings, pass: string, certPem: string, keyPem: string): Promise<void> {
  const { layout } = settings;
  // Postfix and Dovecot drop to their own users and must be able to walk into the temp directory.
  await chmod(layout.root, 0o755);
  for (const dir of [
    layout.postfixConfig,
    layout.queue,
    layout.data,
    layout.mail,
    layout.tls,
    layout.dovecot,
    layout.dovecotState,
    layout.lmtpMail,
  ]) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  }
  const postfixUser = await userIds('postfix');
  await chown(layout.data, postfixUser.uid, postfixUser.gid);
  await chmod(layout.data, 0o700);
  await chown(layout.mail, settings.mailUid, settings.mailGid);
  await chown(layout.lmtpMail, settings.mailUid, settings.mailGid);

  const postfixFiles = [
    ['main.cf', renderMainCf(settings)],
    ['master.cf', renderMasterCf(settings)],
    ['virtual_mailboxes', renderVirtualMailboxes()],
    ['recipient_access', renderRecipientAccess()],
  ] as const;
  for (const [name, content] of postfixFiles) {
    const path = join(layout.postfixConfig, name);
    await writeFile(path, content);
    await utimes(path, SETTLED, SETTLED);
  }
  await writeFile(join(layout.tls, 'server.crt'), certPem);
  await writeFile(join(layout.tls, 'server.key'), keyPem, { mode: 0o600 });
  await writeFile(join(layout.dovecot, 'dovecot.conf'), renderDovecotConf(settings));
  // Dovecot's auth process reads these as user dovecot; nobody else may.
  const dovecotUser = await userIds('dovecot');
  for (const [name, content] of [
    ['passwd', renderDovecotPasswd(SASL_USER, pass)],
    ['users', renderDovecotUsers(settings)],
  ] as const) {
    const path = join(layout.dovecot, name);
    await writeFile(path, content, { mode: 0o640 });
    await chown(path, 0, dovecotUser.gid);
  }
}

/** The pid Postfix's master wrote, or undefined when it has not (yet). */
function readMasterPid(layout: InstanceLayout): number | undefined {
  try {
    const pid = Number(readFileSync(join(layout.queue, 'pid', 'master.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const fields = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((entry) => entry[0] === name);
  if (fields === undefined) throw new Error(`no user "${name}" in /etc/passwd: is Postfix installed?`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function describeLogs(layout: InstanceLayout, lines: number, daemons: ReadonlyArray<Daemon | undefined>): string {
  const tail = (path: string): string => {
    try {
      return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log yet)';
    }
  };
  const output = daemons
    .filter((daemon): daemon is Daemon => daemon !== undefined && daemon.output().trim() !== '')
    .map((daemon) => `--- ${daemon.child.spawnargs.slice(0, 1).join(' ')} output ---\n${daemon.output().trimEnd()}`);
  return [`--- postfix log ---\n${tail(layout.postfixLog)}`, `--- dovecot log ---\n${tail(layout.dovecotLog)}`, ...output].join('\n');
}
