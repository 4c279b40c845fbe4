/**
 * A job's delaySeconds at publish: SQS's own DelaySeconds on the message (fauxqs: not receivable
 * before it, receivable after), per entry of a batch; refused on a FIFO queue before anything is sent.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidJobError } from '../../lib/message/index.js';
import { createMailQueue } from '../../lib/publish/index.js';
import { startFauxqs, type Fauxqs } from './fauxqs.js';

let sqs: Fauxqs;
beforeAll(async () => {
  sqs = await startFauxqs();
});
afterAll(async () => {
  await sqs.close();
});

const job = (n: number, extra: Record<string, unknown> = {}) => ({
  v: 1 as const,
  id: `d-${n}`,
  to: 'ann@example.com',
  subject: `s${n}`,
  text: 't',
  ...extra,
});

async function receiveIds(queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return Messages.map((m) => (JSON.parse(m.Body ?? '{}') as { id: string }).id).sort();
}

describe('delaySeconds at publish', () => {
  it('send: the message is not receivable before its delay, and is after it', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client });
    const started = Date.now();
    await queue.send(job(1, { delaySeconds: 2 }));
    expect(await receiveIds(queueUrl)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 2300 - Date.now())));
    expect(await receiveIds(queueUrl)).toEqual(['d-1']);
  });

  it('sendBatch: each entry its own delay; a job without one is receivable at once, delaySeconds 0 too', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client });
    const started = Date.now();
    const results = await queue.sendBatch([job(1), job(2, { delaySeconds: 2 }), job(3, { delaySeconds: 0 })]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(await receiveIds(queueUrl)).toEqual(['d-1', 'd-3']);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 2300 - Date.now())));
    expect(await receiveIds(queueUrl)).toEqual(['d-2']);
  });

  it('a FIFO queue: a delay is refused before anything is sent, saying why; 0 is taken', async () => {
    const queueUrl = await sqs.createQueue('mail.fifo');
    const queue = createMailQueue({ queueUrl, client: sqs.client });
    const refusal = await queue.send(job(1, { delaySeconds: 60 })).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InvalidJobError);
    expect((refusal as InvalidJobError).issues).toEqual([
      { path: 'delaySeconds', message: expect.stringMatching(/^cannot be used on a FIFO queue: SQS takes no per-message delay there/) as unknown },
    ]);
    const batch = await queue.sendBatch([job(2), job(3, { delaySeconds: 5 })]).catch((error: unknown) => error);
    expect((batch as InvalidJobError).issues.map((issue) => issue.path)).toEqual(['[1].delaySeconds']);
    expect(await sqs.drain(queueUrl)).toEqual([]);
    await queue.send(job(4, { delaySeconds: 0 }));
    expect((await sqs.drain(queueUrl)).map((m) => (JSON.parse(m.Body ?? '{}') as { id: string }).id)).toEqual(['d-4']);
  });
});
