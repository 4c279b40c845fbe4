/**
 * The SMTP relay's settings: where they come from (`SMTP_SECRET_ID` or `SMTP_URL`), and the checks
 * both forms share (host, port, security mode, credentials, EHLO name, default sender).
 *
 * - `SMTP_SECRET_ID`: the Secrets Manager secret holding the relay's settings as JSON
 *   (`{"host","port","username","password","security"?,"clientName"?,"from"?}`), read at run time
 *   and checked by {@link parseSmtpSecret}; or
 * - `SMTP_URL`: the same settings as a URL for local runs, checked at cold start by
 *   {@link parseSmtpUrl}.
 *
 * Part of `lib/config.ts`, which re-exports what others use. Errors name the setting and never
 * repeat a password.
 * @module
 */
import { parseAddress } from '../message/address.js';
import { checkClientName as clientAcceptsName } from '../smtp/index.js';
import type { SecurityMode } from '../smtp/types.js';
import { ConfigError } from './ConfigError.js';
import { nonEmpty } from './environment.js';
import type { Environment } from './environment.js';

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
  /**
   * The relay's private CA (PEM) read from `SMTP_CA_PARAMETER` or `SMTP_CA_SECRET_ID`
   * (lib/delivery/RelayCaSource.ts); never part of the secret or the URL.
   */
  tlsCa?: string;
}

/** Where the relay's settings come from: fixed (`SMTP_URL`) or a Secrets Manager secret read at run time. */
export type SmtpSource = { kind: 'url'; settings: SmtpSettings } | { kind: 'secret'; secretId: string };

const SECURITY_MODES: readonly SecurityMode[] = ['starttls', 'opportunistic', 'implicit', 'none'];
const CONTROL = /[\u0000-\u001f\u007f]/;
const HOST_NAME = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)$/;

/**
 * Reads where the relay's settings come from: exactly one of `SMTP_SECRET_ID` (checked to be a
 * secret name or ARN) and `SMTP_URL` (parsed and checked now).
 *
 * @throws {ConfigError} when both or neither are set, or the one set is malformed
 */
export function readSmtpSource(env: Environment): SmtpSource {
  const secretId = nonEmpty(env, 'SMTP_SECRET_ID');
  const url = nonEmpty(env, 'SMTP_URL');
  if (secretId !== undefined && url !== undefined) throw new ConfigError('SMTP_SECRET_ID', 'set either SMTP_SECRET_ID or SMTP_URL, not both');
  if (url !== undefined) return { kind: 'url', settings: parseSmtpUrl(url) };
  if (secretId === undefined) {
    throw new ConfigError('SMTP_SECRET_ID', 'missing: set SMTP_SECRET_ID (a Secrets Manager secret) or SMTP_URL (smtp://user:pass@host:587)');
  }
  if (CONTROL.test(secretId) || /\s/.test(secretId)) throw new ConfigError('SMTP_SECRET_ID', 'must be a secret name or ARN without spaces');
  return { kind: 'secret', secretId };
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
