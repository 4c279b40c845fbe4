/**
 * Issue 12: "the local run keeps its queues across restarts; `--clean` starts empty; the stop
 * says what stays". `npm start` as its own process: a job waiting in the queue (delayed) and a
 * dead letter are there again after Ctrl-C and a new start, the stop line names them, and
 * `--clean` starts with both queues empty.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRunState } from '../../lib/publish/localRun.js';
import type { HeldMessage } from '../../lib/local/LocalSqs.js';
import { eventually, interrupt, spawnLocalRun, whenReady } from './localRunProcess.js';

let home: string;
let stateDir: string;

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'local-run-kept-'));
  stateDir = path.join(home, '.local');
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const FREE_PORTS = ['--sqs-port', '0', '--smtp-port', '0', '--web-port', '0'];

function sqsOf(local: LocalRunState): SQSClient {
  return new SQSClient({ endpoint: local.sqsEndpoint, region: local.region, credentials: local.credentials });
}

/** Every message of a queue, as the emulator holds it (its inspection endpoint). */
async function held(local: LocalRunState, name: string): Promise<HeldMessage[]> {
  const reply = await fetch(`${local.sqsEndpoint}/_fauxqs/queues/${name}`);
  const { messages } = (await reply.json()) as { messages: { ready: HeldMessage[]; delayed: HeldMessage[]; inflight: { message: HeldMessage }[] } };
  return [...messages.ready, ...messages.delayed, ...messages.inflight.map((entry) => entry.message)];
}

describe('npm start keeps its queues across restarts', () => {
  it('a delayed job and a dead letter are there again after Ctrl-C; the stop says so; --clean starts empty', async () => {
    // Prepare: a job delayed 15 minutes, and an invalid job (dead-lettered at once).
    const first = spawnLocalRun([...FREE_PORTS, '--state-dir', stateDir]);
    let state: LocalRunState;
    try {
      state = await whenReady(first, stateDir);
      const sqs = sqsOf(state);
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: state.queueUrl,
          MessageBody: JSON.stringify({ v: 1, id: 'later', to: 'ann@example.com', subject: 'Later', text: 'x' }),
          DelaySeconds: 900,
        }),
      );
      await sqs.send(
        new SendMessageCommand({ QueueUrl: state.queueUrl, MessageBody: JSON.stringify({ v: 1, id: 'broken', subject: 'No recipient', text: 'x' }) }),
      );
      sqs.destroy();
      await eventually(async () => ((await held(state, 'mail-dlq')).length === 1 ? true : undefined), 20_000, 'the invalid job in the DLQ');
    } catch (error) {
      await interrupt(first);
      throw error;
    }
    const before = { queue: await held(state, 'mail'), dlq: await held(state, 'mail-dlq') };
    // Act
    const stopped = await interrupt(first);
    // Assess: the stop says what stays.
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(
      `kept in ${stateDir}/ for the next start: 1 job(s) in the queue and 1 in the DLQ, 0 message(s) in the mailbox, the delivery ledger (a job id sent again is suppressed), the certificate and the SMTP password; ` +
        '`npm start -- --clean` starts with empty queues, mailbox and ledger',
    );

    // Act: start again on the same state folder.
    const second = spawnLocalRun([...FREE_PORTS, '--state-dir', stateDir]);
    try {
      const again = await whenReady(second, stateDir);
      // Assess: the same messages (same ids), the dead letter with its reason.
      expect((await held(again, 'mail')).map((m) => [m.messageId, m.body])).toEqual(before.queue.map((m) => [m.messageId, m.body]));
      const dead = await held(again, 'mail-dlq');
      expect(
        dead.map((m) => [m.messageId, m.messageAttributes['FailureKind']?.StringValue, m.messageAttributes['FailureMessage']?.StringValue]),
      ).toEqual([[before.dlq[0]!.messageId, 'invalid', 'invalid mail job: to: is required']]);
    } finally {
      expect((await interrupt(second)).code).toBe(0);
    }

    // Act: --clean.
    const clean = spawnLocalRun([...FREE_PORTS, '--state-dir', stateDir, '--clean']);
    try {
      const empty = await whenReady(clean, stateDir);
      // Assess
      expect(await held(empty, 'mail')).toEqual([]);
      expect(await held(empty, 'mail-dlq')).toEqual([]);
    } finally {
      const last = await interrupt(clean);
      expect(last.code).toBe(0);
      expect(last.stdout).toContain(`kept in ${stateDir}/ for the next start: the queues (empty), 0 message(s) in the mailbox`);
    }
  }, 120_000);
});
