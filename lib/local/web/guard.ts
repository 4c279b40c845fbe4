/**
 * Which requests the local web page answers. It listens on 127.0.0.1, but a browser will send
 * requests there on behalf of any web page it has open: so
 * - every request must name this machine in its `Host` header (127.0.0.1 or localhost with the
 *   page's port): a page elsewhere that points a DNS name of its own at 127.0.0.1 (DNS
 *   rebinding) gets 421;
 * - a request that changes something (only `POST` does) must come from the page itself: an
 *   `Origin` other than the page's own, or `Sec-Fetch-Site` other than `same-origin`, gets 403;
 *   and it must carry the run's token (made at start, embedded in the page, unreadable by other
 *   origins) in the `X-Mail-Token` header, else 403 too. A cross-site form post has neither.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WRONG_HOST, isLoopbackHost } from '../loopbackHost.js';

/** The request header that carries the run's token. */
export const TOKEN_HEADER = 'x-mail-token';

/** Why a request is refused: its status and a short text. */
export interface Refusal {
  status: number;
  body: string;
}

/** A fresh token for one run of the page (32 random bytes, base64url). */
export function newPageToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The refusal of a request, or `undefined` when it may be answered.
 * @param method the request's method
 * @param headers its headers
 * @param port the port the page listens on
 * @param token the run's token
 * @example
 * guardRequest('POST', { host: '127.0.0.1:8025', origin: 'https://evil.example' }, 8025, token); // { status: 403, ... }
 */
export function guardRequest(method: string | undefined, headers: IncomingHttpHeaders, port: number, token: string): Refusal | undefined {
  if (!isLoopbackHost(headers.host, port)) return { status: WRONG_HOST.status, body: WRONG_HOST.body };
  if (method === 'GET' || method === 'HEAD') return undefined;
  if (method !== 'POST') return { status: 405, body: 'only GET and POST\n' };
  const origin = headers.origin;
  if (origin !== undefined && origin !== `http://${headers.host ?? ''}`) return { status: 403, body: 'cross-origin request refused\n' };
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return { status: 403, body: 'cross-site request refused\n' };
  if (!sameToken(headers[TOKEN_HEADER], token)) return { status: 403, body: `missing or wrong ${TOKEN_HEADER} header\n` };
  return undefined;
}

function sameToken(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
