/**
 * The send-mail handler against a real SMTP server (smtp-server, STARTTLS + AUTH) and the SQS
 * emulator: one case per row of the outcome table.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { startSqsEmulator } from '../support/sqsQueues.js';
import type { SqsEmulator } from '../support/sqsQueues.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRigOptions } from '../support/sendMailHarness.js';

let emulator: SqsEmulator;
let server: SmtpServerHandle | undefined;

beforeAll(async () => {
  emulator = await startSqsEmulator();
});
afterAll(async () => {
  await emulator.stop();
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function settingsOf(handle: SmtpServerHandle): SmtpSettings {
  return { host: handle.host, port: handle.port, security: 'starttls', username: handle.user, password: handle.pass };
}

async function rigWith(serverOptions: SmtpServerOptions = {}, rigOptions: Partial<SendMailRigOptions> = {}) {
  server = await startSmtpServer(serverOptions);
  const rig = await sendMailRig({ emulator, smtp: { kind: 'url', settings: settingsOf(server) }, tlsCa: server.ca, ...rigOptions });
  return { rig, smtp: server };
}

describe('send-mail handler, outcome table, against smtp-server and fauxqs', () => {
  it('delivered: every job sent over one connection, nothing reported failed', async () => {
    // Prepare
    const { rig, smtp } = await rigWith();
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2), mailJob(3)]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com'], ['rcpt3@example.com']]);
    expect(smtp.messages.every((m) => m.secure && m.user === smtp.user)).toBe(true);
    await expectPlaces(rig, records, response, ['delivered', 'delivered', 'delivered'], smtp.messages.map((m) => m.raw));
    const lines = rig.log.records();
    expect(records.map((r) => lines.get(r.messageId)?.attributes['outcome'])).toEqual(['delivered', 'delivered', 'delivered']);
    expect(records.map((r) => lines.get(r.messageId)?.attributes['jobId'])).toEqual(['job-1', 'job-2', 'job-3']);
    expect(rig.metrics.get('Delivered')).toBe(3);
    expect(rig.metrics.get('Retried')).toBe(0);
    expect(rig.metrics.get('RoundTrips')).toBeGreaterThan(0);
  });
});
