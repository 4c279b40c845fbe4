import { join } from 'node:path';

/**
 * Where one private Postfix + Dovecot instance keeps everything, all under one temp directory.
 *
 * Nothing of the instance lives in `/etc/postfix` or `/etc/dovecot`: Postfix is started with
 * `postfix -c <postfixConfig>` (root may name any config directory), Dovecot with `dovecot -c`.
 */
export interface InstanceLayout {
  /** The temp directory holding everything below; removed by `stop()`. */
  readonly root: string;
  /** Postfix's config directory: main.cf, master.cf and the lookup tables. */
  readonly postfixConfig: string;
  /** Postfix's queue directory (`queue_directory`); `pid/master.pid` lives here. */
  readonly queue: string;
  /** Postfix's `data_directory` (TLS session cache, PRNG state). */
  readonly data: string;
  /** Postfix's log (`maillog_file`, written by postlogd). */
  readonly postfixLog: string;
  /** Postfix's virtual mailbox base: one Maildir per recipient below `example.test/`. */
  readonly mail: string;
  /** The server certificate and key used by smtpd. */
  readonly tls: string;
  /** Dovecot's directory: dovecot.conf, passwd (SASL users), users (LMTP userdb). */
  readonly dovecot: string;
  /** Dovecot's `base_dir`: its sockets (auth for Postfix, LMTP) and master.pid. */
  readonly dovecotRun: string;
  /** Dovecot's `state_dir`. */
  readonly dovecotState: string;
  /** Dovecot's log. */
  readonly dovecotLog: string;
  /** The unix socket Postfix's smtpd asks Dovecot for SASL AUTH on. */
  readonly authSocket: string;
  /** The unix socket Dovecot's LMTP server listens on. */
  readonly lmtpSocket: string;
  /** Home directories of LMTP recipients (`<domain>/<user>/Maildir`). */
  readonly lmtpMail: string;
}

/**
 * Names every path of an instance rooted at `root`.
 *
 * @example
 * const layout = instanceLayout('/tmp/outbound-postfix-abc123');
 */
export function instanceLayout(root: string): InstanceLayout {
  const dovecot = join(root, 'dovecot');
  const dovecotRun = join(dovecot, 'run');
  return {
    root,
    postfixConfig: join(root, 'postfix'),
    queue: join(root, 'queue'),
    data: join(root, 'data'),
    postfixLog: join(root, 'postfix.log'),
    mail: join(root, 'mail'),
    tls: join(root, 'tls'),
    dovecot,
    dovecotRun,
    dovecotState: join(dovecot, 'state'),
    dovecotLog: join(root, 'dovecot.log'),
    authSocket: join(dovecotRun, 'auth-postfix'),
    lmtpSocket: join(dovecotRun, 'lmtp'),
    lmtpMail: join(root, 'lmtp'),
  };
}
