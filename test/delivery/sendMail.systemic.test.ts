/**
 * Systemic failures: the relay cannot be reached, its certificate is not trusted, or it refuses
 * the credentials. Every job is retried (with a backoff), nothing goes to the DLQ for the cause,
 * an error is logged for alarms, and a rotated password heals by itself. Secrets Manager is the
 * only stub (aws-sdk-client-mock); SMTP and SQS are real.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../support/certificates.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { startScriptedServer } from '../support/scriptedServer.js';
import type { ScriptedServerHandle } from '../support/scriptedServer.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const secrets = mockClient(SecretsManagerClient);
const emulator = useSqsEmulator();
const servers: Array<SmtpServerHandle | ScriptedServerHandle> = [];

afterAll(() => {
  secrets.restore();
});
beforeEach(() => {
  secrets.reset();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

function secretFor(server: { host: string; port: number }, username: string, password: string): string {
  return JSON.stringify({ host: server.host, port: server.port, username, password, security: 'starttls' });
}

describe('send-mail handler, systemic failures', () => {
  it('cannot connect: every job retried with a backoff, an error logged for alarms, nothing dead-lettered for it', async () => {
    // Prepare: a port where nothing listens any more.
    const gone = await startSmtpServer();
    await gone.stop();
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: { kind: 'url', settings: { host: gone.host, port: gone.port, security: 'starttls', username: 'u', password: 'p' } },
      tlsCa: gone.ca,
    });
    // Act
    const { records, response } = await rig.run([mailJob(1), 'not JSON', mailJob(3)]);
    // Assess: the invalid job is dead-lettered for its own sake; the others wait for the relay.
    await expectPlaces(rig, records, response, ['failed', 'dead-lettered', 'failed'], []);
    const alarm = rig.log.lines.find((line) => line.level === 'error' && line.message.startsWith('systemic failure'));
    expect(alarm?.attributes['reason']).toMatchObject({ phase: 'connect', error: 'ConnectionError' });
    expect(rig.metrics.get('SystemicFailures')).toBe(1);
    const lines = rig.log.records();
    // A systemic failure is not the job's: its backoff is the long one (90 s at the first receive, not 15 s).
    expect(lines.get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'systemic', placement: 'retry', backoffSeconds: 90 });
    // The retried ones come back after their backoff (90 s); the dead-lettered one keeps the queue's 60 s (Lambda deletes it).
    const queue = await rig.queues.contents(rig.queues.queueName);
    const deadline = (index: number): number | undefined =>
      queue.inflight.find((entry) => entry.message.messageId === records[index]!.messageId)?.visibilityDeadline;
    expect(deadline(0)).toBeGreaterThan(Date.now() + 80_000);
    expect(deadline(0)).toBeLessThanOrEqual(Date.now() + 90_000);
    expect(deadline(2)).toBeGreaterThan(Date.now() + 80_000);
    expect(deadline(1)).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('TLS fails (certificate not trusted): systemic, and the credentials never leave', async () => {
    // Prepare
    const server = await startSmtpServer();
    servers.push(server);
    const { otherCa } = await testCertificates();
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: { kind: 'url', settings: { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass } },
      tlsCa: otherCa,
    });
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2)]);
    // Assess
    await expectPlaces(
      rig,
      records,
      response,
      ['failed', 'failed'],
      server.messages.map((m) => m.raw),
    );
    expect(server.authAttempts).toEqual([]);
    const alarm = rig.log.lines.find((line) => line.message.startsWith('systemic failure'));
    expect(alarm?.attributes['reason']).toMatchObject({ phase: 'starttls' });
  });

  it('AUTH fails, the secret cache is dropped, and the next invocation delivers once the secret is fixed', async () => {
    // Prepare
    const server = await startSmtpServer();
    servers.push(server);
    secrets.on(GetSecretValueCommand, { SecretId: 'relay' }).resolves({ SecretString: secretFor(server, server.user, 'stale password') });
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'secret', secretId: 'relay' }, tlsCa: server.ca });
    // Act
    const first = await rig.run([mailJob(1), mailJob(2)]);
    // Assess
    await expectPlaces(
      rig,
      first.records,
      first.response,
      ['failed', 'failed'],
      server.messages.map((m) => m.raw),
    );
    expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: server.user, ok: false }]);
    const alarm = rig.log.lines.find((line) => line.message.startsWith('systemic failure'));
    expect(alarm?.level).toBe('error');
    expect(alarm?.attributes['reason']).toMatchObject({ phase: 'auth', code: 535, error: 'AuthenticationError' });
    expect(JSON.stringify(rig.log.lines)).not.toContain('stale password');

    // Act: the secret is corrected; SQS hands the same records out again.
    secrets.on(GetSecretValueCommand, { SecretId: 'relay' }).resolves({ SecretString: secretFor(server, server.user, server.pass) });
    const second = await rig.handler(sqsEvent(first.records), lambdaContext());
    // Assess
    expect(second).toEqual({ batchItemFailures: [] });
    expect(server.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com']]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('a rotated password heals within the invocation: AUTH refused with the cached secret, read again, connect again', async () => {
    // Prepare: the scripted relay checks credentials we can change, as a rotation would.
    const credentials = { user: 'mailer', pass: 'first password' };
    const server = await startScriptedServer({ credentials });
    servers.push(server);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: secretFor(server, 'mailer', 'first password') });
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'secret', secretId: 'relay' }, tlsCa: server.ca });
    const first = await rig.run([mailJob(1)]);
    expect(first.response).toEqual({ batchItemFailures: [] });
    credentials.pass = 'second password';
    secrets.on(GetSecretValueCommand).resolves({ SecretString: secretFor(server, 'mailer', 'second password') });
    // Act
    const { records, response } = await rig.run([mailJob(2), mailJob(3)]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(server.connections.flatMap((c) => c.authAttempts.map((a) => [a.pass, a.ok]))).toEqual([
      ['first password', true],
      ['first password', false],
      ['second password', true],
    ]);
    expect(server.connections.flatMap((c) => c.messages.map((m) => m.envelope.to))).toEqual([
      ['rcpt1@example.com'],
      ['rcpt2@example.com'],
      ['rcpt3@example.com'],
    ]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(rig.log.lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(records).toHaveLength(2);
  });

  it('a malformed secret: systemic, with an error that names the field and not the password', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ host: '127.0.0.1', port: 'smtp', username: 'u', password: 'hunter2' }) });
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'secret', secretId: 'relay' } });
    // Act
    const { records, response } = await rig.run([mailJob(1)]);
    // Assess
    await expectPlaces(rig, records, response, ['failed'], []);
    const alarm = rig.log.lines.find((line) => line.message.startsWith('systemic failure'));
    expect(alarm?.attributes['reason']).toMatchObject({ phase: 'secret' });
    expect((alarm?.attributes['reason'] as { text: string }).text).toContain('secret relay: "port"');
    expect(JSON.stringify(rig.log.lines)).not.toContain('hunter2');
  });
});
