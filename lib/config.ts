/**
 * The send-mail function's configuration: every setting is read and checked here, once, at cold
 * start, so that a wrong setting fails the function's initialisation with a message naming it
 * instead of failing every batch later.
 *
 * Settings (DESIGN.md, "Configuration"):
 * - `SMTP_SECRET_ID`: the Secrets Manager secret holding the relay's settings as JSON
 *   (`{"host","port","username","password","security"?,"clientName"?,"from"?}`), or
 * - `SMTP_URL`: the same settings as a URL for local runs:
 *   `smtp://user:pass@host:587`, `smtps://…` for implicit TLS, with optional query parameters
 *   `security=starttls|opportunistic|implicit|none`, `clientName=…`, `from=…`;
 * - `MAIL_PER_CONNECTION`: messages sent on one connection (TurboMail's `count`), default 10;
 * - `MAIL_MAX_RECIPIENTS` (optional): at most this many recipients per message, 1 to 1000 (SES
 *   relays take 50); a job with more is sent in several transactions on the same connection, the
 *   same message each time. Unset: no limit of ours; a relay answering "too many recipients"
 *   (452/552 X.5.3) gets the rest in further transactions either way;
 * - `DLQ_URL`: the dead-letter queue permanent failures go to at once;
 * - `QUEUE_URL`: the mail queue itself, where refused-for-now recipients are re-enqueued;
 * - `SMTP_CA_FILE` (optional): a PEM file of certificate authorities to trust for the relay's
 *   certificate, for relays with a private CA.
 * - `BACKOFF_SCALE` (optional, local and test runs only): a number in (0, 1] that multiplies every
 *   backoff delay (visibility changes and re-enqueue delays), so that a fault-injection run
 *   (`npm run chaos`) settles in minutes; refused in a deployed function (default 1).
 *
 * Errors name the setting and never repeat a password.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseAddress } from './message/address.js';
import { checkClientName as clientAcceptsName } from './smtp/index.js';
import type { SecurityMode } from './smtp/types.js';

/** How to reach and log in to the relay: one secret's or one URL's worth of settings. */
export interface SmtpSettings {
  host: string;
  /** Absent: the SMTP client's default for the security mode. */
  port?: number;
  security: SecurityMode;
  username?: string;
  password?: string;
  /** EHLO name. */
  clientName?: string;
  /** Default sender for jobs without `from`. */
  from?: string;
}

/** Where the relay's settings come from: fixed (`SMTP_URL`) or a Secrets Manager secret read at run time. */
export type SmtpSource = { kind: 'url'; settings: SmtpSettings } | { kind: 'secret'; secretId: string };

/** The checked configuration of the send-mail function. */
export interface Config {
  smtp: SmtpSource;
  /** Messages sent on one connection; records beyond it are reported as not attempted. */
  mailPerConnection: number;
  dlqUrl: string;
  queueUrl: string;
  /** PEM certificate authorities to trust for the relay (contents of `SMTP_CA_FILE`). */
  tlsCa?: string;
  /** `BACKOFF_SCALE`: multiplies every backoff delay; absent means 1 (local and test runs only). */
  backoffScale?: number;
  /** `MAIL_MAX_RECIPIENTS`: at most this many recipients per message; absent: as many as the relay takes. */
  maxRecipientsPerMessage?: number;
}

/** A missing or malformed setting. `setting` names it (an environment variable, or `secret <id>: <field>`). */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

/** The environment, as a plain map (a subset of `process.env`). */
export type Environment = Readonly<Record<string, string | undefined>>;

const SECURITY_MODES: readonly SecurityMode[] = ['starttls', 'opportunistic', 'implicit', 'none'];
const MAX_MAIL_PER_CONNECTION = 1000;
/** Largest `MAIL_MAX_RECIPIENTS`: RFC 5321 has servers take at least 100; a job holds at most 100 (lib/message). */
const MAX_RECIPIENTS_PER_MESSAGE = 1000;
const CONTROL = /[\u0000-\u001f\u007f]/;
const HOST_NAME = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)$/;

/**
 * Reads and checks every setting of the send-mail function.
 *
 * @param env the environment (`process.env` in the function)
 * @param readFile reads `SMTP_CA_FILE`; replaceable in tests
 * @throws {ConfigError} when a setting is missing or malformed; the message names it
 * @example
 * const config = loadConfig(process.env); // at module scope: once per cold start
 */
export function loadConfig(env: Environment, readFile: (path: string) => string = readText): Config {
  const secretId = nonEmpty(env, 'SMTP_SECRET_ID');
  const url = nonEmpty(env, 'SMTP_URL');
  let smtp: SmtpSource;
  if (secretId !== undefined && url !== undefined) {
    throw new ConfigError('SMTP_SECRET_ID', 'set either SMTP_SECRET_ID or SMTP_URL, not both');
  } else if (secretId !== undefined) {
    if (CONTROL.test(secretId) || /\s/.test(secretId)) throw new ConfigError('SMTP_SECRET_ID', 'must be a secret name or ARN without spaces');
    smtp = { kind: 'secret', secretId };
  } else if (url !== undefined) {
    smtp = { kind: 'url', settings: parseSmtpUrl(url) };
  } else {
    throw new ConfigError('SMTP_SECRET_ID', 'missing: set SMTP_SECRET_ID (a Secrets Manager secret) or SMTP_URL (smtp://user:pass@host:587)');
  }

  const config: Config = {
    smtp,
    mailPerConnection: parseMailPerConnection(env['MAIL_PER_CONNECTION']),
    dlqUrl: queueUrl(env, 'DLQ_URL'),
    queueUrl: queueUrl(env, 'QUEUE_URL'),
  };
  const maxRecipients = nonEmpty(env, 'MAIL_MAX_RECIPIENTS');
  if (maxRecipients !== undefined) config.maxRecipientsPerMessage = wholeNumber('MAIL_MAX_RECIPIENTS', maxRecipients, MAX_RECIPIENTS_PER_MESSAGE);
  const backoffScale = nonEmpty(env, 'BACKOFF_SCALE');
  if (backoffScale !== undefined) config.backoffScale = parseBackoffScale(backoffScale, env['AWS_EXECUTION_ENV']);
  const caFile = nonEmpty(env, 'SMTP_CA_FILE');
  if (caFile !== undefined) {
    let pem: string;
    try {
      pem = readFile(caFile);
    } catch (error) {
      throw new ConfigError('SMTP_CA_FILE', `cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('SMTP_CA_FILE', `${caFile} holds no PEM certificate`);
    config.tlsCa = pem;
  }
  return config;
}

/**
 * Parses an `SMTP_URL`: `smtp://user:pass@host:port?security=…&clientName=…&from=…`; `smtps://`
 * means implicit TLS. User name and password are percent-decoded.
 *
 * @throws {ConfigError} naming `setting`; the message never contains the password
 * @example
 * parseSmtpUrl('smtp://mailer:s3cret@relay.example.com:587');
 * // { host: 'relay.example.com', port: 587, security: 'starttls', username: 'mailer', password: 's3cret' }
 */
export function parseSmtpUrl(value: string, setting = 'SMTP_URL'): SmtpSettings {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(setting, 'not a URL; expected smtp://user:pass@host:587 or smtps://user:pass@host:465');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError(setting, `scheme must be smtp: or smtps:, not ${url.protocol}`);
  }
  if (url.pathname !== '' && url.pathname !== '/') throw new ConfigError(setting, 'must not have a path');
  if (url.hash !== '') throw new ConfigError(setting, 'must not have a fragment');
  const host = url.hostname;
  if (host === '') throw new ConfigError(setting, 'host is missing');

  const known = new Set(['security', 'clientName', 'from']);
  for (const key of url.searchParams.keys()) {
    if (!known.has(key)) throw new ConfigError(setting, `unknown parameter "${key}" (known: security, clientName, from)`);
  }
  const securityParam = url.searchParams.get('security');
  let security: SecurityMode = url.protocol === 'smtps:' ? 'implicit' : 'starttls';
  if (securityParam !== null) {
    security = securityMode(securityParam, setting);
    if (url.protocol === 'smtps:' && security !== 'implicit') {
      throw new ConfigError(setting, 'smtps: means implicit TLS; use smtp: with security=' + security);
    }
  }

  const settings: SmtpSettings = { host: checkHost(host, setting), security };
  if (url.port !== '') settings.port = checkPort(Number(url.port), setting);
  const username = decode(url.username, setting, 'user name');
  const password = decode(url.password, setting, 'password');
  if (username !== '' || password !== '') {
    if (username === '' || password === '') throw new ConfigError(setting, 'give both user name and password, or neither');
    settings.username = username;
    settings.password = password;
  }
  const clientName = url.searchParams.get('clientName');
  if (clientName !== null) settings.clientName = checkClientName(clientName, setting);
  const from = url.searchParams.get('from');
  if (from !== null) settings.from = checkFrom(from, setting);
  return settings;
}

/**
 * Parses the relay secret's JSON: `{"host","port","username","password","security"?,"clientName"?,"from"?}`.
 * `port` may be a number or a string of digits (as typed in the console).
 *
 * @param text the secret string
 * @param secretId used to name the secret in errors
 * @throws {ConfigError} naming the secret and the field; never repeating the password
 */
export function parseSmtpSecret(text: string, secretId: string): SmtpSettings {
  const name = (field: string): string => `secret ${secretId}${field === '' ? '' : `: "${field}"`}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(name(''), 'is not JSON; expected {"host","port","username","password"}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(name(''), 'must be a JSON object {"host","port","username","password"}');
  }
  const record = value as Record<string, unknown>;
  const known = new Set(['host', 'port', 'username', 'password', 'security', 'clientName', 'from']);
  for (const key of Object.keys(record)) {
    if (!known.has(key)) throw new ConfigError(name(key), 'unknown field (known: host, port, username, password, security, clientName, from)');
  }
  const text_ = (field: string, required: boolean): string | undefined => {
    const v = record[field];
    if (v === undefined || v === null) {
      if (required) throw new ConfigError(name(field), 'missing');
      return undefined;
    }
    if (typeof v !== 'string' || v === '') throw new ConfigError(name(field), 'must be a non-empty string');
    return v;
  };

  const host = checkHost(text_('host', true) as string, name('host'));
  const settings: SmtpSettings = { host, security: 'starttls' };
  const port = record['port'];
  if (port !== undefined && port !== null) {
    const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
    if (typeof n !== 'number') throw new ConfigError(name('port'), 'must be a number');
    settings.port = checkPort(n, name('port'));
  }
  const security = text_('security', false);
  if (security !== undefined) settings.security = securityMode(security, name('security'));
  const username = text_('username', false);
  const password = text_('password', false);
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(name(username === undefined ? 'username' : 'password'), 'missing: give both username and password, or neither');
  }
  if (username !== undefined && password !== undefined) {
    if (CONTROL.test(username)) throw new ConfigError(name('username'), 'must not contain control characters');
    if (CONTROL.test(password)) throw new ConfigError(name('password'), 'must not contain control characters');
    settings.username = username;
    settings.password = password;
  }
  const clientName = text_('clientName', false);
  if (clientName !== undefined) settings.clientName = checkClientName(clientName, name('clientName'));
  const from = text_('from', false);
  if (from !== undefined) settings.from = checkFrom(from, name('from'));
  return settings;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

function nonEmpty(env: Environment, setting: string): string | undefined {
  const value = env[setting]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function parseMailPerConnection(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return 10;
  return wholeNumber('MAIL_PER_CONNECTION', value, MAX_MAIL_PER_CONNECTION);
}

/** A whole number from 1 to `max`, written in plain digits. */
function wholeNumber(setting: string, value: string, max: number): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(setting, `must be a whole number from 1 to ${max}, not "${value}"`);
  const n = Number(value);
  if (n < 1 || n > max) throw new ConfigError(setting, `must be a whole number from 1 to ${max}, not ${n}`);
  return n;
}

/**
 * `BACKOFF_SCALE`: a plain decimal in (0, 1]. Below 1 it is refused where the Lambda runtime runs
 * the function (`AWS_EXECUTION_ENV` is `AWS_Lambda_…` there, never in local or chaos runs): set
 * there by mistake, it would make jobs burn their receives in seconds during a relay outage.
 */
function parseBackoffScale(value: string, executionEnv: string | undefined): number {
  const n = /^\d+(?:\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0 && n <= 1)) throw new ConfigError('BACKOFF_SCALE', `must be a number above 0 and at most 1 (e.g. 0.05), not "${value}"`);
  if (n < 1 && executionEnv?.startsWith('AWS_Lambda_') === true) {
    throw new ConfigError(
      'BACKOFF_SCALE',
      `is for local and test runs only, and this is a deployed function (AWS_EXECUTION_ENV=${executionEnv}): remove it`,
    );
  }
  return n;
}

function queueUrl(env: Environment, setting: string): string {
  const value = nonEmpty(env, setting);
  if (value === undefined) throw new ConfigError(setting, 'missing: set it to the queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(setting, `not a URL: "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(setting, `must be an http(s) queue URL, not ${url.protocol}`);
  if (url.pathname.split('/').filter((part) => part !== '').length === 0) throw new ConfigError(setting, `has no queue name: "${value}"`);
  return value;
}

function securityMode(value: string, setting: string): SecurityMode {
  if ((SECURITY_MODES as readonly string[]).includes(value)) return value as SecurityMode;
  throw new ConfigError(setting, `security must be one of ${SECURITY_MODES.join(', ')}`);
}

function checkHost(host: string, setting: string): string {
  if (!HOST_NAME.test(host)) throw new ConfigError(setting, 'host must be a host name or an address literal');
  return host;
}

function checkPort(port: number, setting: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(setting, 'port must be a whole number from 1 to 65535');
  return port;
}

/**
 * The EHLO name, checked with the SMTP client's own rule (lib/smtp/arguments.ts), so that a name
 * the client would refuse at every connection (an underscore, over 253 characters) fails the cold
 * start, or the secret's read, naming the setting, instead of making every batch systemic.
 */
function checkClientName(name: string, setting: string): string {
  try {
    return clientAcceptsName(name);
  } catch {
    throw new ConfigError(
      setting,
      "clientName must be a domain name (letters, digits, '-' and '.', at most 253 characters) or an address literal, as the SMTP client requires",
    );
  }
}

/** The default sender must be an address the job format accepts, else every job without `from` would fail to build. */
function checkFrom(from: string, setting: string): string {
  if (CONTROL.test(from)) throw new ConfigError(setting, 'from must not contain control characters');
  const parsed = parseAddress(from);
  if (!parsed.ok) throw new ConfigError(setting, `from ${JSON.stringify(from)} is not a sender address: ${parsed.problem}`);
  return from;
}

function decode(part: string, setting: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(setting, `${what} is not valid percent-encoding`);
  }
}
