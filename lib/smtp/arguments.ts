/**
 * Checks on everything the client puts on a command line: addresses and free-form commands.
 * They run before a single byte is written, so no caller input can inject a command. Pure.
 * @module
 */
import { ProtocolError } from './errors.js';
import type { SmtpPhase } from './types.js';

// C0 controls (CR and LF among them), DEL, and the C1 controls.
const CONTROL = /[\x00-\x1f\x7f\x80-\x9f]/u;
// Characters that could end the <path> early or start a parameter.
const PATH_BREAKERS = /[<>\s]/u;

/** Longest path accepted (RFC 5321 4.5.3.1.3: 256 octets, brackets included). */
export const MAX_PATH_OCTETS = 254;

/**
 * Checks an envelope address (the text between `<` and `>`). `''` is the null reverse path and is
 * accepted where `allowNull` (MAIL FROM only).
 * @throws {ProtocolError} naming the fault, not echoing control characters.
 */
export function checkAddress(address: unknown, phase: SmtpPhase, allowNull = false): string {
  if (typeof address !== 'string') throw invalid(`Address must be a string, got ${typeof address}`, phase);
  if (address === '') {
    if (allowNull) return address;
    throw invalid('Recipient address is empty', phase);
  }
  if (CONTROL.test(address)) throw invalid(`Address ${JSON.stringify(address)} contains a control character (CR, LF or other)`, phase);
  if (PATH_BREAKERS.test(address)) throw invalid(`Address ${JSON.stringify(address)} contains a space, '<' or '>'`, phase);
  if (Buffer.byteLength(address, 'utf8') > MAX_PATH_OCTETS) throw invalid(`Address is longer than ${MAX_PATH_OCTETS} octets`, phase);
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) throw invalid(`Address ${JSON.stringify(address)} is not local-part@domain`, phase);
  return address;
}

/** True when the address needs SMTPUTF8 (RFC 6531): any character outside ASCII. */
export function needsSmtpUtf8(address: string): boolean {
  return /[^\x00-\x7f]/u.test(address);
}

/**
 * Checks a free-form command line (for {@link SmtpClient.command}): one line, printable, without
 * any control character (CR, LF, TAB, NUL, ESC, DEL, C1 controls).
 * @throws {ProtocolError} permanent, naming the fault.
 */
export function checkCommandLine(line: unknown): string {
  if (typeof line !== 'string' || line.length === 0) throw invalid('Command must be a non-empty string', 'mail');
  if (CONTROL.test(line)) throw invalid('Command contains a control character (CR, LF, TAB or another)', 'mail');
  if (Buffer.byteLength(line, 'utf8') > 510) throw invalid('Command is longer than 510 octets', 'mail');
  return line;
}

/**
 * Checks the argument of VRFY (for {@link SmtpClient.verify}): any user name or address, but not
 * empty or blank (`VRFY ` alone is a syntax error) and without control characters.
 * @returns the whole command line, `VRFY <argument>`.
 * @throws {ProtocolError} permanent, before anything is written.
 */
export function checkVerifyArgument(argument: unknown): string {
  if (typeof argument !== 'string' || argument.trim() === '') throw invalid('VRFY needs an argument (a user name or an address)', 'rcpt');
  return checkCommandLine(`VRFY ${argument}`);
}

/**
 * Checks an EHLO name: a domain or an address literal, printable ASCII without spaces, at most
 * 253 characters (`mail_out.example.com` is refused: `_` is not allowed in a host name). The
 * client runs it on `clientName` before connecting; configuration runs it at cold start.
 * @returns the name, unchanged.
 * @throws {ProtocolError} permanent, phase `'ehlo'`, naming the name.
 * @example
 * checkClientName('mail.example.com'); // 'mail.example.com'
 * checkClientName('[192.0.2.1]');      // '[192.0.2.1]'
 */
export function checkClientName(name: string): string {
  if (!/^(?:\[[0-9A-Fa-f:.]+(?:IPv6:[0-9A-Fa-f:.]+)?\]|\[IPv6:[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/.test(name)) {
    throw invalid(`clientName ${JSON.stringify(name)} is not a domain name or an address literal`, 'ehlo');
  }
  return name;
}

function invalid(message: string, phase: SmtpPhase): ProtocolError {
  return new ProtocolError(message, { phase, transient: false });
}
