/**
 * Faults mid-batch, on cue, from the scripted SMTP server: a drop before and after the end of
 * data, a 421 mid-session and as the reply to the data, silence until the invocation's deadline.
 * The jobs queued behind the fault were never tried: they come back without a backoff.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { DEFAULT_EXTENSIONS, startScriptedServer } from '../support/scriptedServer.js';
import type { ScriptedMessage, ScriptedReply, ScriptedServerHandle, ScriptedServerOptions } from '../support/scriptedServer.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRigOptions } from '../support/sendMailHarness.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
let server: ScriptedServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const WITHOUT_CHUNKING = DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING');
const isJob = (message: ScriptedMessage, n: number): boolean => message.content.toString('latin1').includes(`Subject: Test job ${n}\r\n`);

/** A scripted relay whose mailbox holds only the messages it confirmed with 250. */
async function faultRig(
  options: ScriptedServerOptions & { onMessage?: (message: ScriptedMessage) => ScriptedReply | undefined },
  rigOptions: Partial<SendMailRigOptions> = {},
) {
  const confirmed: Buffer[] = [];
  const { onMessage, ...serverOptions } = options;
  server = await startScriptedServer({
    extensions: WITHOUT_CHUNKING,
    ...serverOptions,
    onData: (message) => {
      const reply = onMessage?.(message);
      if (reply === undefined) confirmed.push(message.content);
      return reply;
    },
  });
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: 'mailer', password: 'secret' };
  const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca, ...rigOptions });
  return { rig, relay: server, confirmed };
}

const five = (): Record<string, unknown>[] => [1, 2, 3, 4, 5].map((n) => mailJob(n));

describe('send-mail handler, faults mid-batch (scripted relay)', () => {
  it('pipelines the batch: 10 messages on one connection in setup + N + 1 round trips', async () => {
    // Prepare
    const { rig, relay, confirmed } = await faultRig({});
    // Act
    const { records, response } = await rig.run([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => mailJob(n)));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(relay.connections).toHaveLength(1);
    await expectPlaces(
      rig,
      records,
      response,
      records.map(() => 'delivered'),
      confirmed,
    );
    expect(relay.connections[0]!.commands.at(-1)?.verb).toBe('QUIT');
    // Every message after the first had its MAIL/RCPT/DATA in the same write as the previous dot.
    const mails = relay.connections[0]!.commands.filter((command) => command.verb === 'MAIL');
    expect(mails.map((command) => command.afterDot)).toEqual([false, true, true, true, true, true, true, true, true, true]);
    // Setup (greeting, EHLO, STARTTLS, EHLO, AUTH) + N + 1, counted before QUIT.
    expect(rig.metrics.get('RoundTrips')).toBe(5 + 10 + 1);
  });

  it('a drop before the end of data: that job is transient, the ones queued behind it not attempted', async () => {
    // Prepare: the connection drops when the third MAIL arrives.
    const { rig, confirmed } = await faultRig({
      onCommand: (command, connection) => (command.verb === 'MAIL' && connection.messages.length === 2 ? 'drop' : undefined),
    });
    // Act
    const { records, response } = await rig.run(five());
    // Assess
    await expectPlaces(rig, records, response, ['delivered', 'delivered', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({
      outcome: 'transient',
      backoffSeconds: 15,
      reason: { error: 'ConnectionError' },
    });
    for (const record of records.slice(3)) {
      expect(lines.get(record.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'connectionLost' });
    }
  });

  it('a drop after the end of data: ambiguous, retried and logged as a possible duplicate', async () => {
    // Prepare
    const { rig, relay, confirmed } = await faultRig({ onMessage: (message) => (isJob(message, 3) ? 'drop' : undefined) });
    // Act
    const { records, response } = await rig.run(five());
    // Assess: the relay did get job 3; it never said so.
    expect(relay.connections[0]!.messages.filter((m) => isJob(m, 3))).toHaveLength(1);
    await expectPlaces(rig, records, response, ['delivered', 'delivered', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'ambiguous', possibleDuplicate: true, placement: 'retry' });
    expect(lines.get(records[3]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'connectionLost' });
    expect(rig.metrics.get('PossibleDuplicates')).toBe(1);
  });

  it('421 mid-session: the job it hit is transient with the code, the rest not attempted', async () => {
    // Prepare
    const { rig, confirmed } = await faultRig({
      onCommand: (command, connection) =>
        command.verb === 'MAIL' && connection.messages.length === 2 ? ['421 4.3.2 Service shutting down'] : undefined,
    });
    // Act
    const { records, response } = await rig.run(five());
    // Assess
    await expectPlaces(rig, records, response, ['delivered', 'delivered', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', reason: { code: 421, enhancedCode: '4.3.2' } });
    expect(lines.get(records[4]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'connectionLost' });
  });

  it('421 as the reply to the data: an answer, so transient (not ambiguous); the rest not attempted', async () => {
    // Prepare
    const { rig, confirmed } = await faultRig({ onMessage: (message) => (isJob(message, 2) ? ['421 4.3.2 Shutting down'] : undefined) });
    // Act
    const { records, response } = await rig.run(five());
    // Assess
    await expectPlaces(rig, records, response, ['delivered', 'failed', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', reason: { phase: 'data', code: 421 } });
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'connectionLost' });
  });

  it('silence after the end of data: the session is cut at the invocation deadline, the batch still answers', async () => {
    // Prepare: 3 s left in the invocation; the session is given up 1.5 s before the end.
    const { rig, confirmed } = await faultRig(
      { onMessage: (message) => (isJob(message, 2) ? 'silent' : undefined) },
      { deps: { tuning: { startMarginMs: 500, reserveMs: 1500, backoff: { random: () => 0 } } } },
    );
    const end = Date.now() + 3000;
    // Act
    const { records, response } = await rig.run(five(), () => end - Date.now());
    // Assess
    expect(Date.now()).toBeLessThan(end);
    await expectPlaces(rig, records, response, ['delivered', 'failed', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'ambiguous', possibleDuplicate: true });
    for (const record of records.slice(2)) {
      expect(lines.get(record.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'connectionLost' });
    }
  });

  it('time margin reached: the session ends with a polite QUIT after the messages already started', async () => {
    // Prepare
    let delivered = 0;
    const { rig, relay, confirmed } = await faultRig({
      onMessage: () => {
        delivered += 1;
        return undefined;
      },
    });
    // Act
    const { records, response } = await rig.run(five(), () => (delivered >= 1 ? 1_000 : 60_000));
    // Assess
    const commands = relay.connections[0]!.commands.map((command) => command.verb);
    expect(commands.at(-1)).toBe('QUIT');
    expect(confirmed.length).toBeLessThan(5);
    const places = records.map((_, index) => (index < confirmed.length ? 'delivered' : 'failed'));
    await expectPlaces(rig, records, response, places, confirmed);
  });

  it('CHUNKING: mixed outcomes with BDAT (one refused recipient dead-lettered, the others delivered)', async () => {
    // Prepare
    const { rig, relay, confirmed } = await faultRig({
      extensions: [...DEFAULT_EXTENSIONS],
      onCommand: (command) => (command.verb === 'RCPT' && command.args.includes('gone') ? ['550 5.1.1 No such user'] : undefined),
    });
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2, { to: ['gone2@example.com'] }), mailJob(3), mailJob(4)]);
    // Assess
    await expectPlaces(rig, records, response, ['delivered', 'dead-lettered', 'delivered', 'delivered'], confirmed);
    expect(relay.connections[0]!.messages.map((m) => m.via)).toEqual(['BDAT', 'BDAT', 'BDAT']);
  });

  it('CHUNKING: the whole batch is handed over at once and streams as BDAT in one write', async () => {
    // Prepare
    const { rig, relay, confirmed } = await faultRig({ extensions: [...DEFAULT_EXTENSIONS] });
    // Act
    const { records, response } = await rig.run([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => mailJob(n)));
    // Assess
    await expectPlaces(
      rig,
      records,
      response,
      records.map(() => 'delivered'),
      confirmed,
    );
    const connection = relay.connections[0]!;
    expect(connection.messages.map((m) => m.via)).toEqual(records.map(() => 'BDAT'));
    // Chunks after AUTH up to QUIT: the messages' writes.
    const auth = connection.commands.findIndex((command) => command.verb === 'AUTH');
    const quit = connection.commands.findIndex((command) => command.verb === 'QUIT');
    const writes = new Set(connection.commands.slice(auth + 1, quit).map((command) => command.chunk));
    expect(writes.size).toBe(1);
    // Setup (greeting, EHLO, STARTTLS, EHLO, AUTH) + 1 for ten messages.
    expect(rig.metrics.get('RoundTrips')).toBe(5 + 1);
  });

  it('garbage from the relay ends the session: the job it hit is transient, the ones behind it not attempted', async () => {
    // Prepare: the reply to the second MAIL is not SMTP.
    const { rig, confirmed } = await faultRig({
      onCommand: (command, connection) =>
        command.verb === 'MAIL' && connection.messages.length === 1 ? { raw: 'HTTP/1.1 400 Bad Request\r\n' } : undefined,
    });
    // Act
    const { records, response } = await rig.run(five());
    // Assess
    await expectPlaces(rig, records, response, ['delivered', 'failed', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', reason: { error: 'ProtocolError' } });
    for (const record of records.slice(2)) {
      expect(lines.get(record.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'connectionLost' });
    }
  });
});
