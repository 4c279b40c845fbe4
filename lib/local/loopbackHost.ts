/**
 * The guard against DNS rebinding shared by the local run's servers (the web page and the SQS
 * emulator): they listen on 127.0.0.1, but a web page elsewhere can point a DNS name of its own
 * at 127.0.0.1 and have the browser send requests there. Such requests carry that name in their
 * `Host` header, so a server that answers only loopback names with its own port answers only
 * this machine's own programs.
 * @module
 */

/** Status and text of the refusal: 421 Misdirected Request (RFC 9110 §15.5.20). */
export const WRONG_HOST = { status: 421, body: 'wrong host\n' } as const;

/**
 * True when a `Host` header names this machine's loopback interface and the server's own port:
 * `127.0.0.1`, `[::1]`, `localhost` or a name under `.localhost` (RFC 6761 keeps those on the
 * loopback interface, and browsers never send them to DNS), in any letter case, followed by
 * `:port`. A header without a port, with another port, or absent is refused.
 *
 * @param host the request's `Host` header
 * @param port the port the server listens on (the socket's local port)
 * @example
 * isLoopbackHost('sqs.eu-west-1.localhost:9324', 9324); // true
 * isLoopbackHost('rebind.attacker.example:9324', 9324); // false
 */
export function isLoopbackHost(host: string | undefined, port: number | undefined): boolean {
  if (host === undefined || port === undefined) return false;
  const colon = host.lastIndexOf(':');
  if (colon < 0 || host.slice(colon + 1) !== String(port)) return false;
  const name = host.slice(0, colon).toLowerCase();
  return name === '127.0.0.1' || name === '[::1]' || name === 'localhost' || /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+localhost$/.test(name);
}
