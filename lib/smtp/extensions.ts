/**
 * ESMTP service extensions: the EHLO reply parsed into {@link Capabilities}. Pure.
 * @module
 */
import type { Capabilities, SmtpReply } from './types.js';

/** The capabilities of a server that answered HELO only (no extensions). */
export function noCapabilities(): Capabilities {
  return {
    pipelining: false,
    chunking: false,
    eightBitMime: false,
    smtpUtf8: false,
    dsn: false,
    enhancedStatusCodes: false,
    startTls: false,
    auth: [],
  };
}

/**
 * Parses an EHLO (or LHLO) reply. The first line is the server's greeting; each further line is
 * one keyword with optional parameters. Keywords are case-insensitive. `AUTH=LOGIN` (the old
 * pre-standard form) counts as AUTH too. Unknown keywords are ignored.
 *
 * @example
 * parseCapabilities({ code: 250, lines: ['mx.example', 'PIPELINING', 'SIZE 1000', 'AUTH PLAIN LOGIN'] })
 * // => { pipelining: true, size: 1000, auth: ['PLAIN', 'LOGIN'], ... }
 */
export function parseCapabilities(reply: SmtpReply): Capabilities {
  const caps = noCapabilities();
  const auth = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const [rawKeyword = '', ...params] = line.trim().split(/[ \t]+/);
    const keyword = rawKeyword.toUpperCase();
    switch (keyword) {
      case 'PIPELINING':
        caps.pipelining = true;
        break;
      case 'CHUNKING':
        caps.chunking = true;
        break;
      case '8BITMIME':
        caps.eightBitMime = true;
        break;
      case 'SMTPUTF8':
        caps.smtpUtf8 = true;
        break;
      case 'DSN':
        caps.dsn = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        caps.enhancedStatusCodes = true;
        break;
      case 'STARTTLS':
        caps.startTls = true;
        break;
      case 'SIZE': {
        const limit = params[0] === undefined ? 0 : Number(params[0]);
        caps.size = Number.isSafeInteger(limit) && limit >= 0 ? limit : 0;
        break;
      }
      case 'AUTH':
        for (const mechanism of params) auth.add(mechanism.toUpperCase());
        break;
      default:
        if (keyword.startsWith('AUTH=')) {
          for (const mechanism of [keyword.slice(5), ...params]) if (mechanism) auth.add(mechanism.toUpperCase());
        }
    }
  }
  caps.auth = [...auth];
  return caps;
}
