/**
 * Opening a session: failover across hosts, the greeting, EHLO (HELO fallback; LHLO for LMTP),
 * STARTTLS and EHLO again, AUTH. Every step's failure is an {@link SmtpError} of its phase.
 * @module
 */
import os from 'node:os';
import { isIP } from 'node:net';
import type tls from 'node:tls';
import { checkClientName } from './arguments.js';
import { chooseMechanism, checkCredentials, encodeLogin, encodePlain, encodeXoauth2, type Credentials } from './auth.js';
import { SmtpConnection } from './connection.js';
import { AuthenticationError, ConnectionError, SmtpError, TlsRequiredError } from './errors.js';
import { noCapabilities, parseCapabilities } from './extensions.js';
import { isPositive } from './reply.js';
import { defaultPort, describeTarget, isLoopbackAddress, parseTargets } from './target.js';
import type { Capabilities, SecurityMode, SmtpConnectOptions, SmtpPhase, SmtpReply } from './types.js';

/** Timeouts in force, with defaults filled in. */
export interface Timeouts {
  connectMs: number;
  greetingMs: number;
  commandMs: number;
  dataMs: number;
}

/** Default timeouts: pymail's 10 s to connect; replies well inside a Lambda's time. */
export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, greetingMs: 30_000, commandMs: 30_000, dataMs: 60_000 };

/** An open, greeted, secured and authenticated session. */
export interface Session {
  connection: SmtpConnection;
  capabilities: Capabilities;
  /** False when the server answered HELO only (no ESMTP). */
  esmtp: boolean;
  timeouts: Timeouts;
  lmtp: boolean;
}

/**
 * Connects to the first host that greets with 220 (trying the others in order on connection,
 * timeout or greeting failures), then says EHLO, secures and authenticates as the options ask.
 * @throws {SmtpError} the last host's error (its message lists every host tried) for connection
 *   and greeting failures; {@link TlsRequiredError}, {@link AuthenticationError} and others for later steps.
 */
export async function openSession(options: SmtpConnectOptions): Promise<Session> {
  const security: SecurityMode = options.security ?? 'starttls';
  if (!['starttls', 'opportunistic', 'implicit', 'none'].includes(security)) {
    throw new SmtpError(`security must be starttls, opportunistic, implicit or none, not ${JSON.stringify(security)}`, {
      phase: 'connect',
      transient: false,
    });
  }
  const lmtp = options.protocol === 'lmtp';
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...definedOnly(options.timeouts ?? {}) };
  if (options.auth) checkCredentials(options.auth);
  const clientName = options.clientName === undefined ? undefined : checkClientName(options.clientName);
  const targets = parseTargets(options.host, options.port ?? defaultPort(security, options.protocol ?? 'smtp'));
  if (security === 'implicit' && targets.some((target) => target.kind === 'unix')) {
    throw new SmtpError('security "implicit" needs a TCP host; a unix socket path is local (use security "none")', {
      phase: 'connect',
      transient: false,
    });
  }

  const failures: string[] = [];
  let lastError: SmtpError | undefined;
  for (const target of targets) {
    let connection: SmtpConnection | undefined;
    try {
      connection = await SmtpConnection.open(target, {
        connectMs: timeouts.connectMs,
        writeMs: timeouts.dataMs,
        ...(security === 'implicit' ? { implicitTls: tlsOptions(options, target.kind === 'tcp' ? target.host : undefined) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.transcript ? { transcript: options.transcript } : {}),
      });
      const greeting = await connection.readReply('greeting', timeouts.greetingMs, 'command');
      if (greeting.code !== 220) throw ConnectionError.fromReply(`${describeTarget(target)} refused the session`, 'greeting', greeting);
    } catch (error) {
      connection?.close();
      lastError = asSmtpError(error, 'connect');
      failures.push(`${describeTarget(target)}: ${lastError.message}`);
      if (options.signal?.aborted) break;
      continue;
    }
    try {
      return await negotiate(connection, options, security, timeouts, lmtp, clientName);
    } catch (error) {
      connection.close();
      throw asSmtpError(error, 'ehlo');
    }
  }
  const error = lastError ?? new ConnectionError('No host to connect to', { phase: 'connect', transient: false });
  if (failures.length > 1) {
    const Class = error.constructor as new (message: string, init: ConstructorParameters<typeof SmtpError>[1]) => SmtpError;
    throw new Class(`No server could be reached: ${failures.join('; ')}`, {
      phase: error.phase,
      transient: error.transient,
      cause: error,
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.enhancedCode === undefined ? {} : { enhancedCode: error.enhancedCode }),
    });
  }
  throw error;
}

async function negotiate(
  connection: SmtpConnection,
  options: SmtpConnectOptions,
  security: SecurityMode,
  timeouts: Timeouts,
  lmtp: boolean,
  name: string | undefined,
): Promise<Session> {
  const clientName = name ?? defaultClientName(connection);
  let hello = await greet(connection, clientName, lmtp, timeouts);
  if (security === 'starttls' || security === 'opportunistic') {
    const required = security === 'starttls';
    if (!hello.capabilities.startTls) {
      if (required)
        throw new TlsRequiredError('The server does not offer STARTTLS, and security is starttls (required)', {
          phase: 'starttls',
          transient: false,
        });
    } else {
      const reply = await connection.requestTls(timeouts.commandMs);
      if (reply.code === 220) {
        const host = connection.target.kind === 'tcp' ? connection.target.host : undefined;
        await connection.upgradeToTls(tlsOptions(options, host), timeouts.commandMs);
        hello = await greet(connection, clientName, lmtp, timeouts);
      } else if (required) {
        throw TlsRequiredError.fromReply('The server refused STARTTLS', 'starttls', reply);
      }
    }
  }
  if (options.auth) await authenticate(connection, options.auth, hello.capabilities, timeouts);
  // A reply nobody asked for (a 221 behind the EHLO reply) or a 421 may have failed the
  // connection after the last reply was read: never hand back a session that is already over.
  const failure = connection.failureFor(options.auth ? 'auth' : 'ehlo');
  if (failure) throw failure;
  return { connection, capabilities: hello.capabilities, esmtp: hello.esmtp, timeouts, lmtp };
}

/** EHLO, falling back to HELO when the server does not know EHLO (5xx); LHLO for LMTP. */
async function greet(
  connection: SmtpConnection,
  clientName: string,
  lmtp: boolean,
  timeouts: Timeouts,
): Promise<{ capabilities: Capabilities; esmtp: boolean }> {
  const verb = lmtp ? 'LHLO' : 'EHLO';
  const reply = await command(connection, `${verb} ${clientName}`, 'ehlo', timeouts.commandMs);
  if (isPositive(reply)) return { capabilities: parseCapabilities(reply), esmtp: true };
  if (lmtp || reply.code < 500) throw ConnectionError.fromReply(`The server refused ${verb}`, 'ehlo', reply);
  const helo = await command(connection, `HELO ${clientName}`, 'ehlo', timeouts.commandMs);
  if (!isPositive(helo)) throw ConnectionError.fromReply('The server refused both EHLO and HELO', 'ehlo', helo);
  return { capabilities: noCapabilities(), esmtp: false };
}

/**
 * AUTH with the chosen mechanism. Credentials never cross an unencrypted connection unless the
 * peer is on this machine (loopback or a unix socket). The transcript shows `[redacted]` for them.
 */
async function authenticate(connection: SmtpConnection, credentials: Credentials, capabilities: Capabilities, timeouts: Timeouts): Promise<void> {
  const local = connection.target.kind === 'unix' || isLoopbackAddress(connection.remoteAddress);
  if (!connection.secure && !local) {
    throw new AuthenticationError('Refusing to send credentials over an unencrypted connection to a host that is not loopback', {
      phase: 'auth',
      transient: false,
    });
  }
  const mechanism = chooseMechanism(capabilities.auth, credentials.method);
  const step = async (line: string, shown: string): Promise<SmtpReply> => {
    await connection.write([`${line}\r\n`], [shown], 'auth', 1);
    return connection.readReply('auth', timeouts.commandMs, 'AUTH');
  };
  let reply: SmtpReply;
  if (mechanism === 'PLAIN') {
    reply = await step(`AUTH PLAIN ${encodePlain(credentials.user, credentials.pass)}`, 'AUTH PLAIN [redacted]');
    if (reply.code === 334) reply = await step(encodePlain(credentials.user, credentials.pass), '[redacted]');
  } else if (mechanism === 'LOGIN') {
    reply = await step('AUTH LOGIN', 'AUTH LOGIN');
    if (reply.code === 334) reply = await step(encodeLogin(credentials.user), '[redacted]');
    if (reply.code === 334) reply = await step(encodeLogin(credentials.pass), '[redacted]');
  } else {
    reply = await step(`AUTH XOAUTH2 ${encodeXoauth2(credentials.user, credentials.pass)}`, 'AUTH XOAUTH2 [redacted]');
    // On failure XOAUTH2 sends a 334 with an error document; an empty line asks for the final reply.
    if (reply.code === 334) reply = await step('', '');
  }
  if (reply.code !== 235) {
    throw AuthenticationError.fromReply(`AUTH ${mechanism} failed`, 'auth', reply);
  }
}

async function command(connection: SmtpConnection, line: string, phase: SmtpPhase, timeoutMs: number): Promise<SmtpReply> {
  await connection.write([`${line}\r\n`], [line], phase, 1);
  return connection.readReply(phase, timeoutMs, 'command');
}

function tlsOptions(options: SmtpConnectOptions, host: string | undefined): tls.ConnectionOptions {
  const servername = options.tls?.servername ?? (host && isIP(host) === 0 ? host : undefined);
  return {
    ...(host ? { host } : {}),
    ...(servername ? { servername } : {}),
    ...(options.tls?.ca === undefined ? {} : { ca: typeof options.tls.ca === 'string' ? options.tls.ca : Buffer.from(options.tls.ca) }),
    rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
    minVersion: 'TLSv1.2',
  };
}

/** The EHLO name when none is given: this host's name if it is a domain, else the local address literal. */
function defaultClientName(connection: SmtpConnection): string {
  const hostname = os.hostname();
  if (/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/.test(hostname)) return hostname;
  const local = connection.localAddress;
  if (!local) return 'localhost';
  const v4 = local.startsWith('::ffff:') ? local.slice(7) : local;
  return isIP(v4) === 4 ? `[${v4}]` : `[IPv6:${local}]`;
}

function asSmtpError(error: unknown, phase: SmtpPhase): SmtpError {
  if (error instanceof SmtpError) return error;
  return new ConnectionError(`Unexpected failure: ${error instanceof Error ? error.message : String(error)}`, {
    phase,
    transient: true,
    cause: error,
  });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
