/**
 * The two SMTP clients the benchmark compares, behind one shape: one STARTTLS + AUTH connection,
 * every message sent on it concurrently, then closed.
 * @module
 */
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SmtpClient } from '../../lib/smtp/index.js';
import type { BenchMessage } from './messages.js';
import type { SmtpTarget } from './remoteServers.js';

/** Wall time and this process's CPU time (user + system) from connect until every message was accepted. */
export interface SessionTiming {
  ms: number;
  cpuMs: number;
}

/** A client under test. */
export interface BenchClient {
  name: string;
  /**
   * Connects (STARTTLS + AUTH), sends every message over that one connection, and closes it.
   * Times connect + sends; the polite close is outside the timing.
   * @throws Error when any recipient was not accepted.
   */
  session(target: SmtpTarget, messages: BenchMessage[]): Promise<SessionTiming>;
  /** Connects, authenticates and closes: the setup whose round trips are not the messages'. */
  setupOnly(target: SmtpTarget): Promise<void>;
}

function startTiming(): () => SessionTiming {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
  };
}

function checkAccepted(name: string, messages: BenchMessage[], acceptedCounts: number[]): void {
  messages.forEach((message, index) => {
    if (acceptedCounts[index] !== message.envelope.to.length) {
      throw new Error(`${name}: message ${index} went to ${acceptedCounts[index]} of ${message.envelope.to.length} recipients`);
    }
  });
}

/** nodemailer with one pooled connection (`maxConnections: 1`) that never recycles, `sendMail` called for all messages at once. */
export function nodemailerClient(): BenchClient {
  const options = (target: SmtpTarget) => ({
    host: target.host,
    port: target.port,
    secure: false,
    requireTLS: true,
    auth: { user: target.user, pass: target.pass },
    tls: { ca: target.ca },
  });
  return {
    name: 'nodemailer',
    async session(target, messages) {
      const transport = nodemailer.createTransport({ ...options(target), pool: true, maxConnections: 1, maxMessages: Infinity });
      try {
        const stop = startTiming();
        const infos = await Promise.all(messages.map((message) => transport.sendMail({ envelope: message.envelope, raw: message.raw })));
        const timing = stop();
        checkAccepted(
          'nodemailer',
          messages,
          infos.map((info) => info.accepted.length),
        );
        return timing;
      } finally {
        transport.close();
      }
    },
    async setupOnly(target) {
      const transport = nodemailer.createTransport(options(target));
      await transport.verify();
      transport.close();
    },
  };
}

/** Our client (`lib/smtp`), sending exactly as the contract in DESIGN.md describes. */
export function ourClient(): BenchClient {
  const connect = (target: SmtpTarget) =>
    SmtpClient.connect({
      host: target.host,
      port: target.port,
      security: 'starttls',
      auth: { user: target.user, pass: target.pass },
      tls: { ca: target.ca },
    });
  return {
    name: 'ours',
    async session(target, messages) {
      const stop = startTiming();
      const client = await connect(target);
      const results = await Promise.all(messages.map((message) => client.send(message.envelope, message.raw)));
      const timing = stop();
      await client.quit();
      checkAccepted(
        'ours',
        messages,
        results.map((result) => result.accepted.length),
      );
      return timing;
    },
    async setupOnly(target) {
      const client = await connect(target);
      await client.quit();
    },
  };
}
