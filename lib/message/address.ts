/**
 * The address parser: three unambiguous forms, nothing guessed.
 *
 * - `"a@example.com"`
 * - `"Name <a@example.com>"` or `"\"Name, with comma\" <a@example.com>"` (quotes around the whole name, no escapes)
 * - `{ name?, address }`
 *
 * Refused: several addresses, comments, quoted local parts, group syntax, source routes, address
 * literals, control and invisible characters, angle brackets in names, dotless domains.
 * Internationalised domains are converted to A-labels (`xn--…`), so they need nothing from the
 * server; a non-ASCII local part is kept and needs SMTPUTF8 (RFC 6531), which the SMTP client asks for.
 * @module
 */
import { domainToASCII } from 'node:url';
import { describeType, quoteValue, textProblem } from './characters.js';
import type { MailAddress } from './types.js';

/** The result of parsing one address: the address, or why it was refused. */
export type AddressResult = { ok: true; address: MailAddress } | { ok: false; problem: string };

/** Longest display name we take, in characters. */
export const MAX_NAME_LENGTH = 200;
/** Longest address, in octets (RFC 5321 path limit less the angle brackets). */
export const MAX_ADDRESS_OCTETS = 254;
/** Longest local part, in octets (RFC 5321 4.5.3.1.1). */
export const MAX_LOCAL_OCTETS = 64;

const ATEXT_ASCII = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const UNICODE_SPACE_OR_CONTROL = /[\p{C}\p{Z}]/u;

/**
 * Parses one address in any of the three forms.
 * @example
 * parseAddress('Ada <ada@example.com>'); // { ok: true, address: { name: 'Ada', address: 'ada@example.com' } }
 * parseAddress('a@example.com, b@example.com'); // { ok: false, problem: 'contains several addresses: …' }
 */
export function parseAddress(value: unknown): AddressResult {
  if (typeof value === 'string') return parseAddressString(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return parseAddressObject(value as Record<string, unknown>);
  return fail(`must be an address string or an object {name, address}, not ${describeType(value)}`);
}

/**
 * Parses a bare address (`a@example.com`, no name, no brackets), as used in SMTP envelopes.
 * @example
 * parseBareAddress('ada@bücher.example'); // { ok: true, address: { address: 'ada@xn--bcher-kva.example' } }
 */
export function parseBareAddress(value: unknown): AddressResult {
  if (typeof value !== 'string') return fail(`must be an address string, not ${describeType(value)}`);
  // Measured first, so that a huge string is not read through (a character is at least one octet).
  if (value.length > MAX_ADDRESS_OCTETS) return fail(`${quoteValue(value)} is longer than ${MAX_ADDRESS_OCTETS} octets`);
  const text = textProblem(value, 'line');
  if (text !== undefined) return fail(text);
  if (value.includes('<') || value.includes('>')) return fail(`${quoteValue(value)} must be a bare address, without a name or angle brackets`);
  return parseAddrSpec(value);
}

function parseAddressString(value: string): AddressResult {
  const text = textProblem(value, 'line');
  if (text !== undefined) return fail(text);
  const trimmed = value.trim();
  if (trimmed === '') return fail('is empty');
  if (trimmed.length > MAX_NAME_LENGTH + MAX_ADDRESS_OCTETS + 4) return fail(`is too long (${trimmed.length} characters)`);
  const open = trimmed.indexOf('<');
  if (open === -1) {
    if (trimmed.includes('>')) return fail(`${quoteValue(trimmed)} has a '>' without a '<'`);
    return parseAddrSpec(trimmed);
  }
  if (trimmed.indexOf('<', open + 1) !== -1)
    return fail(`${quoteValue(trimmed)} has more than one '<': several addresses or angle brackets in the name`);
  const close = trimmed.indexOf('>');
  if (close === -1) return fail(`${quoteValue(trimmed)} has a '<' without a closing '>'`);
  if (close < open) return fail(`${quoteValue(trimmed)} has a '>' before the '<': angle brackets in the name are not allowed`);
  if (close !== trimmed.length - 1) {
    return fail(`${quoteValue(trimmed)} has text after the closing '>' (several addresses or a comment?)`);
  }
  const spec = parseAddrSpec(trimmed.slice(open + 1, close));
  if (!spec.ok) return spec;
  const name = parseDisplayName(trimmed.slice(0, open).trim());
  if (typeof name === 'object') return name;
  return { ok: true, address: name === '' ? spec.address : { name, address: spec.address.address } };
}

function parseAddressObject(value: Record<string, unknown>): AddressResult {
  const unknown = Object.keys(value).filter((key) => key !== 'name' && key !== 'address');
  if (unknown.length > 0) return fail(`has ${unknownFields(unknown)} (an address object has only name and address)`);
  if (!('address' in value) || value.address === undefined) return fail('has no address');
  if (typeof value.address !== 'string') return fail(`address must be a string, not ${describeType(value.address)}`);
  const spec = parseBareAddress(value.address);
  if (!spec.ok) return fail(`address ${spec.problem}`);
  if (value.name === undefined || value.name === '') return spec;
  if (typeof value.name !== 'string') return fail(`name must be a string, not ${describeType(value.name)}`);
  const problem = nameProblem(value.name);
  if (problem !== undefined) return fail(`name ${problem}`);
  return { ok: true, address: { name: value.name, address: spec.address.address } };
}

/** Most unknown fields of an address object an error names; the others are counted. */
const NAMED_UNKNOWN_FIELDS = 3;

/** `unknown field "x"`, `unknown fields "a", "b"`, `unknown fields "a", "b", "c" and 997 more`. */
function unknownFields(keys: string[]): string {
  const named = keys
    .slice(0, NAMED_UNKNOWN_FIELDS)
    .map((key) => quoteValue(key))
    .join(', ');
  const more = keys.length - NAMED_UNKNOWN_FIELDS;
  return `unknown field${keys.length > 1 ? 's' : ''} ${named}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The display name in `Name <addr>`: plain words, or the whole name in double quotes without escapes. */
function parseDisplayName(raw: string): string | { ok: false; problem: string } {
  if (raw === '') return '';
  if (raw.startsWith('"')) {
    if (raw.length < 2 || !raw.endsWith('"')) return fail(`the name ${quoteValue(raw)} has an opening quote without a closing one, or text after it`);
    const inner = raw.slice(1, -1);
    if (inner.includes('"') || inner.includes('\\'))
      return fail(`the name ${quoteValue(raw)} has quotes or backslashes inside quotes: use {name, address} instead`);
    const problem = nameProblem(inner);
    return problem === undefined ? inner : fail(`the name ${problem}`);
  }
  const problem = nameProblem(raw) ?? unquotedNameProblem(raw);
  return problem === undefined ? raw : fail(`the name ${quoteValue(raw)} ${problem}`);
}

/** Rules for any display name, quoted or not. */
function nameProblem(name: string): string | undefined {
  const text = textProblem(name, 'line');
  if (text !== undefined) return text;
  if (name.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.includes('<') || name.includes('>')) return 'contains angle brackets';
  return undefined;
}

/** Characters that change the meaning of an unquoted name in a header. */
function unquotedNameProblem(name: string): string | undefined {
  if (/[,;]/.test(name)) return 'contains a comma or semicolon, which reads as a list of addresses: quote the whole name or use {name, address}';
  if (/[()]/.test(name)) return 'contains parentheses (comments are not supported)';
  if (name.includes(':')) return 'contains a colon (group syntax is not supported)';
  if (name.includes('"')) return 'contains quotes that do not enclose the whole name';
  if (name.includes('@')) return "contains an '@' (ambiguous: quote the whole name or use {name, address})";
  if (/[[\]\\]/.test(name)) return 'contains brackets or backslashes: quote the whole name or use {name, address}';
  return undefined;
}

/** `local@domain` with a dot-atom local part and a domain name; the domain comes back as A-labels. */
function parseAddrSpec(spec: string): AddressResult {
  const shown = quoteValue(spec);
  if (spec === '') return fail('has an empty address');
  if (/[,;]/.test(spec)) return fail(`${shown} contains several addresses: give them as a list`);
  if (/[()]/.test(spec)) return fail(`${shown} contains parentheses (comments are not supported)`);
  if (spec.includes('"')) return fail(`${shown} has a quoted local part, which is not supported`);
  if (spec.includes(':')) return fail(`${shown} contains a colon (group syntax and source routes are not supported)`);
  if (/\s/.test(spec)) return fail(`${shown} contains spaces (a name must go before <address>)`);
  if (spec.includes('\\')) return fail(`${shown} contains a backslash`);
  const at = spec.indexOf('@');
  if (at === -1) return fail(`${shown} has no '@'`);
  if (spec.indexOf('@', at + 1) !== -1) return fail(`${shown} has more than one '@'`);
  const local = spec.slice(0, at);
  const domain = spec.slice(at + 1);
  const localProblem = localPartProblem(local);
  if (localProblem !== undefined) return fail(`${shown}: the local part ${localProblem}`);
  const ascii = domainToAscii(domain);
  if (typeof ascii === 'object') return fail(`${shown}: the domain ${ascii.problem}`);
  const address = `${local}@${ascii}`;
  if (Buffer.byteLength(address) > MAX_ADDRESS_OCTETS) return fail(`${shown} is longer than ${MAX_ADDRESS_OCTETS} octets`);
  return { ok: true, address: { address } };
}

function localPartProblem(local: string): string | undefined {
  if (local === '') return 'is empty';
  if (Buffer.byteLength(local) > MAX_LOCAL_OCTETS) return `is longer than ${MAX_LOCAL_OCTETS} octets`;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return 'has a dot at its start or end, or two dots in a row';
  for (const char of local) {
    if (char === '.') continue;
    if ((char.codePointAt(0) ?? 0) < 0x80) {
      if (!ATEXT_ASCII.test(char)) return `contains ${quoteValue(char)}, which is not allowed without quoting`;
    } else if (UNICODE_SPACE_OR_CONTROL.test(char)) {
      return 'contains a space, control or unassigned character';
    }
  }
  return undefined;
}

/** Converts a domain to ASCII (IDNA/UTS #46), then checks the result as host name labels. */
function domainToAscii(domain: string): string | { problem: string } {
  if (domain === '') return { problem: 'is empty' };
  if (domain.startsWith('[')) return { problem: 'is an address literal, which is not supported' };
  if (/[[\]<>@%/?#]/.test(domain)) return { problem: 'contains characters not allowed in a domain' };
  const ascii = domainToASCII(domain);
  if (ascii === '') return { problem: 'is not a valid domain name' };
  if (ascii.length > 253) return { problem: 'is longer than 253 characters' };
  const labels = ascii.split('.');
  if (labels.length < 2) return { problem: 'has no dot: use a fully qualified domain like example.com' };
  if (labels.some((label) => !LDH_LABEL.test(label)))
    return { problem: 'has an empty label, a label longer than 63 characters, or characters other than letters, digits and hyphens' };
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return { problem: 'ends in a numeric label (an IP address is not a domain)' };
  return ascii;
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}
