/**
 * Opening the batch's one connection: the relay's settings to the SMTP client's options, and the
 * self-healing login (after AUTH fails with a cached secret, read the secret again and, if it
 * changed, connect once more).
 * @module
 */
import type { SmtpSettings } from '../config.js';
import type { SmtpConnectOptions } from '../smtp/types.js';
import { isAuthenticationFailure, outcomeOfConnectError } from './outcome.js';
import type { FailureReason } from './outcome.js';
import type { CurrentSettings } from './SmtpSettingsSource.js';
import type { Delivery, DeliveryOptions, MailSession } from './types.js';

/** The open session and the settings it was opened with, or why there is none. */
export type OpenedSession = { session: MailSession; settings: SmtpSettings } | { failure: FailureReason };

/**
 * Connects and logs in with `current`. When the relay refuses the credentials, the cached secret
 * is dropped; if the credentials came from the cache, the secret is read again and, when it
 * holds other credentials (a rotation), the connection is tried once more.
 *
 * @returns the session, or the reason (phase, code, text) of a systemic failure; never throws
 */
export async function openSession(
  delivery: Pick<Delivery, 'settings' | 'connect' | 'options'>,
  current: CurrentSettings,
  signal: AbortSignal,
): Promise<OpenedSession> {
  const attempt = async (settings: SmtpSettings): Promise<OpenedSession & { error?: unknown }> => {
    try {
      return { session: await delivery.connect(connectOptions(settings, delivery.options, signal)), settings };
    } catch (error) {
      if (isAuthenticationFailure(error)) delivery.settings.invalidate();
      const outcome = outcomeOfConnectError(error);
      return { failure: outcome.kind === 'systemic' ? outcome.reason : { phase: 'unknown', message: String(error) }, error };
    }
  };
  const first = await attempt(current.settings);
  if (!('failure' in first) || !isAuthenticationFailure(first.error) || current.fresh) return strip(first);
  let again: CurrentSettings;
  try {
    again = await delivery.settings.get(signal);
  } catch {
    return strip(first);
  }
  if (again.settings.username === current.settings.username && again.settings.password === current.settings.password) return strip(first);
  return strip(await attempt(again.settings));
}

function strip(opened: OpenedSession & { error?: unknown }): OpenedSession {
  return 'failure' in opened ? { failure: opened.failure } : { session: opened.session, settings: opened.settings };
}

/**
 * The SMTP client's options for the relay's settings.
 * @example
 * connectOptions({ host: 'relay.example.com', port: 587, security: 'starttls', username: 'u', password: 'p' }, {});
 * // { host: 'relay.example.com', port: 587, security: 'starttls', auth: { user: 'u', pass: 'p' } }
 */
export function connectOptions(settings: SmtpSettings, options: Pick<DeliveryOptions, 'tlsCa'>, signal?: AbortSignal): SmtpConnectOptions {
  const connect: SmtpConnectOptions = { host: settings.host, security: settings.security };
  if (settings.port !== undefined) connect.port = settings.port;
  if (settings.username !== undefined && settings.password !== undefined) connect.auth = { user: settings.username, pass: settings.password };
  if (settings.clientName !== undefined) connect.clientName = settings.clientName;
  const ca = settings.tlsCa ?? options.tlsCa;
  if (ca !== undefined) connect.tls = { ca };
  if (signal !== undefined) connect.signal = signal;
  return connect;
}
