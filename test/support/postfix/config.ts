import type { InstanceLayout } from './layout.js';

/** The only domain the instance delivers for; every `*@example.test` gets its own Maildir. */
export const MAIL_DOMAIN = 'example.test';
/** The SASL user Dovecot knows (its password is generated at each start). */
export const SASL_USER = 'relay@example.test';
/** Postfix refuses this recipient at RCPT with `550 5.1.1`. */
export const REFUSED_RECIPIENT = 'refuse@example.test';
/** Postfix refuses this recipient at RCPT with `450 4.2.0` (try again later). */
export const DEFERRED_RECIPIENT = 'later@example.test';
/** Dovecot LMTP accepts this recipient at RCPT and refuses it after the data: its quota is full (`552 5.2.2`). */
export const LMTP_OVER_QUOTA_RECIPIENT = 'full@example.test';
/** `message_size_limit`, advertised as `SIZE 10485760`. */
export const DEFAULT_SIZE_LIMIT = 10 * 1024 * 1024;

/** What varies between two instances; the rest of the configuration is fixed. */
export interface InstanceSettings {
  readonly layout: InstanceLayout;
  /** The submission port smtpd listens on, on 127.0.0.1 only. */
  readonly port: number;
  /** `message_size_limit` in bytes. */
  readonly sizeLimit: number;
  /** Advertise CHUNKING (BDAT). */
  readonly chunking: boolean;
  /** Advertise PIPELINING. */
  readonly pipelining: boolean;
  /** `smtpd_recipient_limit`: recipients past it in one transaction get `452 4.5.3 Error: too many recipients`. */
  readonly recipientLimit?: number;
  /** The uid and gid that own delivered mail (Postfix virtual and Dovecot LMTP deliver as them). */
  readonly mailUid: number;
  readonly mailGid: number;
}

/**
 * Renders main.cf: loopback only, STARTTLS required, AUTH through Dovecot only after TLS,
 * relaying for nobody, local Maildir delivery for `example.test` and nothing outbound.
 *
 * @example
 * await writeFile(join(layout.postfixConfig, 'main.cf'), renderMainCf(settings));
 */
export function renderMainCf(settings: InstanceSettings): string {
  const { layout } = settings;
  const discarded = [settings.chunking ? undefined : 'chunking', settings.pipelining ? undefined : 'pipelining']
    .filter((keyword) => keyword !== undefined)
    .join(', ');
  const noOutbound = 'error:5.7.1 outbound delivery is disabled in this test instance';
  return `# Private Postfix instance for the outbound-mail tests (test/support/postfix.ts). Not for production.
compatibility_level = 3.6
queue_directory = ${layout.queue}
data_directory = ${layout.data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = ${layout.postfixLog}
maillog_file_prefixes = ${layout.root}

# Loopback only, IPv4 only: nothing listens anywhere else.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.${MAIL_DOMAIN}
mydomain = ${MAIL_DOMAIN}
myorigin = ${MAIL_DOMAIN}
mynetworks = 127.0.0.1/32
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP
smtpd_peername_lookup = no

# Nothing ever leaves: any non-local destination ends in the error transport.
default_transport = ${noOutbound}
relay_transport = ${noOutbound}

# Delivery: every *@${MAIL_DOMAIN} gets a Maildir below ${layout.mail}.
virtual_mailbox_domains = ${MAIL_DOMAIN}
virtual_mailbox_base = ${layout.mail}
virtual_mailbox_maps = regexp:${layout.postfixConfig}/virtual_mailboxes
virtual_uid_maps = static:${settings.mailUid}
virtual_gid_maps = static:${settings.mailGid}
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
mailbox_size_limit = 0
in_flow_delay = 0

# Extensions.
message_size_limit = ${settings.sizeLimit}
smtputf8_enable = yes
smtpd_discard_ehlo_keywords = ${discarded}

# STARTTLS required; AUTH only after it.
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_cert_file = ${layout.tls}/server.crt
smtpd_tls_key_file = ${layout.tls}/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes

# SASL through Dovecot's auth socket.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = ${layout.authSocket}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous

# Only authenticated clients, and only to ${MAIL_DOMAIN}; two recipients refused on cue.
smtpd_relay_restrictions = reject_unauth_destination, permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access texthash:${layout.postfixConfig}/recipient_access

# Tests and benchmarks make refusals on purpose: no tarpitting, no error limits in the way.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 10000
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
${settings.recipientLimit === undefined ? '' : `\n# Recipients per transaction (the default is 1000).\nsmtpd_recipient_limit = ${settings.recipientLimit}\n`}`;
}

/**
 * Renders master.cf: one smtpd on 127.0.0.1:<port>, the internal services delivery needs, no
 * chroot, no port 25, no pickup (no sendmail), no SMTP client.
 *
 * @example
 * await writeFile(join(layout.postfixConfig, 'master.cf'), renderMasterCf(settings));
 */
export function renderMasterCf(settings: InstanceSettings): string {
  return `# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:${settings.port} inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
proxymap  unix  -       -       n       -       -       proxymap
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

/**
 * Renders the `virtual_mailbox_maps` regexp table: `user@example.test` to the Maildir
 * `example.test/user/`; addresses whose local part is not a plain name (UTF-8 ones, say) share
 * `example.test/other/`. The recipient is read back from each message's `Delivered-To`.
 */
export function renderVirtualMailboxes(): string {
  const domain = MAIL_DOMAIN.replaceAll('.', '\\.');
  return `/^([a-z0-9][a-z0-9._+-]*)@${domain}$/ ${MAIL_DOMAIN}/\${1}/
/@${domain}$/ ${MAIL_DOMAIN}/other/
`;
}

/** Renders the `check_recipient_access` texthash table with the two refused recipients. */
export function renderRecipientAccess(): string {
  return `${REFUSED_RECIPIENT} 550 5.1.1 <${REFUSED_RECIPIENT}>: Recipient address rejected: mailbox unavailable
${DEFERRED_RECIPIENT} 450 4.2.0 <${DEFERRED_RECIPIENT}>: Recipient address rejected: try again later
`;
}

/**
 * Renders dovecot.conf: no network listener at all (only unix sockets in the instance's run
 * directory), an auth socket for Postfix offering PLAIN and LOGIN, and an LMTP socket delivering
 * to Maildirs, with a quota that refuses {@link LMTP_OVER_QUOTA_RECIPIENT}.
 */
export function renderDovecotConf(settings: InstanceSettings): string {
  const { layout } = settings;
  return `# Private Dovecot for the outbound-mail tests (test/support/postfix.ts). Not for production.
protocols = lmtp
listen = 127.0.0.1
base_dir = ${layout.dovecotRun}
state_dir = ${layout.dovecotState}
log_path = ${layout.dovecotLog}
info_log_path = ${layout.dovecotLog}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests fail AUTH on purpose, again and again: no delay, no growing per-IP penalty.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.1/32
auth_verbose = yes
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_plugins = quota
lmtp_hdr_delivery_address = final

passdb {
  driver = passwd-file
  args = username_format=%Lu ${layout.dovecot}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%Lu ${layout.dovecot}/users
}
userdb {
  driver = static
  args = uid=${settings.mailUid} gid=${settings.mailGid} home=${layout.lmtpMail}/%Ld/%Ln allow_all_users=yes
}
plugin {
  quota = count:User quota
  quota_vsizes = yes
  quota_grace = 0
}

service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
`;
}

/** Renders Dovecot's SASL passwd-file: the one user and its password. */
export function renderDovecotPasswd(user: string, pass: string): string {
  return `${user}:{PLAIN}${pass}\n`;
}

/** Renders Dovecot's LMTP userdb: {@link LMTP_OVER_QUOTA_RECIPIENT} with a one-byte quota. */
export function renderDovecotUsers(settings: InstanceSettings): string {
  const [user, domain] = LMTP_OVER_QUOTA_RECIPIENT.split('@') as [string, string];
  const home = `${settings.layout.lmtpMail}/${domain}/${user}`;
  return `${LMTP_OVER_QUOTA_RECIPIENT}::${settings.mailUid}:${settings.mailGid}::${home}::userdb_quota_rule=*:storage=1B\n`;
}
