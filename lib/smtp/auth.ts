/**
 * SASL encodings for SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN, and XOAUTH2; and the choice of
 * mechanism. Pure.
 * @module
 */
import { AuthenticationError } from './errors.js';

/** Mechanisms the client speaks. */
export type AuthMethod = 'PLAIN' | 'LOGIN' | 'XOAUTH2';

/** Credentials for AUTH. For XOAUTH2, `pass` is the OAuth 2.0 access token. */
export interface Credentials {
  user: string;
  pass: string;
  method?: AuthMethod;
}

const PREFERENCE: AuthMethod[] = ['PLAIN', 'LOGIN'];

/**
 * Chooses the mechanism: the one asked for, if the server offers it; else PLAIN, then LOGIN.
 * XOAUTH2 is used only when asked for, since its secret is a token, not a password.
 * @throws {AuthenticationError} when the server offers no usable mechanism.
 */
export function chooseMechanism(offered: string[], wanted?: AuthMethod): AuthMethod {
  if (wanted) {
    if (offered.includes(wanted)) return wanted;
    throw new AuthenticationError(`The server does not offer AUTH ${wanted} (it offers: ${offered.join(' ') || 'none'})`, {
      phase: 'auth',
      transient: false,
    });
  }
  const found = PREFERENCE.find((mechanism) => offered.includes(mechanism));
  if (!found)
    throw new AuthenticationError(`The server offers no AUTH mechanism this client speaks (it offers: ${offered.join(' ') || 'none'})`, {
      phase: 'auth',
      transient: false,
    });
  return found;
}

/** PLAIN initial response: base64 of `authzid NUL authcid NUL passwd` with an empty authzid. */
export function encodePlain(user: string, pass: string): string {
  return Buffer.from(`\0${user}\0${pass}`, 'utf8').toString('base64');
}

/** One LOGIN step: the user name or the password, base64-encoded. */
export function encodeLogin(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

/** XOAUTH2 initial response: base64 of `user=U ^A auth=Bearer T ^A ^A`. */
export function encodeXoauth2(user: string, token: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`, 'utf8').toString('base64');
}

/** Decodes a 334 challenge (base64) for the transcript and for error messages; returns '' when it is not base64 text. */
export function decodeChallenge(text: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return '';
  return Buffer.from(text, 'base64').toString('utf8');
}

/**
 * Refuses credentials that could break the SASL framing: PLAIN separates fields with NUL, XOAUTH2
 * with ^A, and none may hold CR or LF.
 * @throws {AuthenticationError} naming the field, never its value.
 */
export function checkCredentials(credentials: Credentials): void {
  for (const [field, value] of [
    ['user', credentials.user],
    ['pass', credentials.pass],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new AuthenticationError(`AUTH ${field} must be a non-empty string`, { phase: 'auth', transient: false });
    }
    if (/[\0\x01\r\n]/.test(value)) {
      throw new AuthenticationError(`AUTH ${field} contains NUL, ^A, CR or LF`, { phase: 'auth', transient: false });
    }
  }
}
