/**
 * Where to connect: host specifications (`host`, `host:port`, `[v6]:port`, a unix socket path)
 * turned into targets, default ports per security mode, and the loopback test that guards
 * credentials. Pure.
 * @module
 */
import { isIP } from 'node:net';
import { ProtocolError } from './errors.js';
import type { SecurityMode } from './types.js';

/** One place to connect to. */
export type Target = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** The port used when neither `'host:port'` nor `port` gives one. */
export function defaultPort(security: SecurityMode, protocol: 'smtp' | 'lmtp'): number {
  if (security === 'implicit') return 465;
  if (protocol === 'lmtp') return 24;
  return security === 'none' ? 25 : 587;
}

/**
 * Parses the `host` option into targets, tried in order. A port inside the string wins over `port`.
 * @throws {ProtocolError} (phase 'connect') for an empty list or a malformed entry.
 * @example
 * parseTargets(['mx1.example:2525', '[::1]:25', 'mx2.example'], 587)
 * // => [{kind:'tcp',host:'mx1.example',port:2525}, {kind:'tcp',host:'::1',port:25}, {kind:'tcp',host:'mx2.example',port:587}]
 */
export function parseTargets(hosts: string | string[], port: number): Target[] {
  const list = Array.isArray(hosts) ? hosts : [hosts];
  if (list.length === 0) throw bad('host must name at least one server');
  return list.map((spec) => parseTarget(spec, port));
}

function parseTarget(spec: unknown, fallbackPort: number): Target {
  if (typeof spec !== 'string' || spec.trim() === '') throw bad('host entries must be non-empty strings');
  if (/[\s\x00-\x1f\x7f]/.test(spec)) throw bad(`host ${JSON.stringify(spec)} contains whitespace or control characters`);
  if (spec.startsWith('/')) return { kind: 'unix', path: spec };
  let host = spec;
  let port = fallbackPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracketed) {
    host = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(spec) === 6) {
    host = spec;
  } else {
    const colon = spec.lastIndexOf(':');
    if (colon !== -1) {
      host = spec.slice(0, colon);
      const portText = spec.slice(colon + 1);
      if (!/^\d+$/.test(portText)) throw bad(`host ${JSON.stringify(spec)} has a malformed port`);
      port = Number(portText);
    }
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${port} of ${JSON.stringify(spec)} is out of range`);
  if (host === '' || (isIP(host) === 0 && !/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(host))) {
    throw bad(`host ${JSON.stringify(spec)} is not a host name or IP address`);
  }
  return { kind: 'tcp', host, port };
}

/** How a target is named in messages. */
export function describeTarget(target: Target): string {
  if (target.kind === 'unix') return target.path;
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** True for a peer address on this machine: 127.0.0.0/8, ::1, or an IPv4-mapped loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

function bad(message: string): ProtocolError {
  return new ProtocolError(message, { phase: 'connect', transient: false });
}
