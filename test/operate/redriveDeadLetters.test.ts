import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readRecord } from '../../lib/delivery/mailRecord.js';
import { QueueActions } from '../../lib/delivery/QueueActions.js';
import { recordFromMessage } from '../support/sqsEvents.js';
import { describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { redriveDeadLetters } from '../../lib/operate/index.js';
import { startFailingSqsProxy } from '../support/failingSqsProxy.js';
import { useSqsEmulator, type HeldMessage, type MailQueues } from '../support/sqsQueues.js';
import { deadLetterByHandler, deadLetterBySqs, jobBody, NO_SUCH_USER, SPAM } from './deadLetterQueue.js';

const emulator = useSqsEmulator();

const INVALID_BODY = '{"v":1,"id":"bad-1","to":"not an address","subject":"x","text":"y"}';

/** A DLQ holding: order-1 (550 5.1.1), bad-1 (invalid), order-2 (554 5.7.1), order-3 (moved by SQS, with MailRequeueCount 2 and Tenant 7). */
async function filledQueues(options: { fifo?: boolean } = {}) {
  const queues = await emulator().createMailQueues({ maxReceiveCount: 1, ...options });
  await deadLetterByHandler(emulator(), queues, jobBody('order-1', ['nobody@example.org']), NO_SUCH_USER, { jobId: 'order-1' });
  await deadLetterByHandler(emulator(), queues, INVALID_BODY, { phase: 'job', message: 'invalid mail job: to: not an address' });
  await deadLetterByHandler(emulator(), queues, jobBody('order-2', ['bob@example.net']), SPAM, { jobId: 'order-2' });
  await deadLetterBySqs(emulator(), queues, jobBody('order-3', ['carol@example.com']), { MailRequeueCount: '2', Tenant: '7' });
  return queues;
}

const jobIds = (messages: HeldMessage[]) => messages.map((message) => (JSON.parse(message.body) as { id: string }).id).sort();

async function held(queues: MailQueues) {
  const queue = await queues.contents(queues.queueName);
  const dlq = await queues.contents(queues.dlqName);
  expect(queue.inflight).toEqual([]);
  expect(dlq.inflight).toEqual([]);
  return { queue: jobIds(queue.ready), dlq: jobIds(dlq.ready), queueMessages: queue.ready };
}

describe('redriveDeadLetters', () => {
  it('redrives the letters a filter picks: same body, no dead-letter attributes, deleted from the DLQ', async () => {
    const queues = await filledQueues();
    const progress: [number, number][] = [];

    const summary = await redriveDeadLetters({
      sqs: emulator().sqs,
      dlqUrl: queues.dlqUrl,
      queueUrl: queues.queueUrl,
      filter: { code: '550' },
      onProgress: (done, total) => progress.push([done, total]),
    });

    expect(summary).toMatchObject({
      examined: 4,
      matched: 1,
      redriven: 1,
      skippedInvalid: [],
      notDeleted: [],
      notSent: [],
      notFound: [],
      dryRun: false,
    });
    expect(summary.letters.map((letter) => letter.jobId)).toEqual(['order-1']);
    expect(progress.at(-1)).toEqual([4, 4]);
    const after = await held(queues);
    expect(after.queue).toEqual(['order-1']);
    expect(after.dlq).toEqual(['bad-1', 'order-2', 'order-3']);
    expect(after.queueMessages[0]?.body).toBe(jobBody('order-1', ['nobody@example.org']));
    expect(after.queueMessages[0]?.messageAttributes).toEqual({});
  });

  it('with all, redrives every valid job and leaves the invalid one; by id, redrives the invalid one too', async () => {
    const queues = await filledQueues();
    const base = { sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl };

    const all = await redriveDeadLetters({ ...base, all: true });

    expect(all).toMatchObject({ examined: 4, matched: 4, redriven: 3 });
    expect(all.skippedInvalid.map((letter) => letter.jobId)).toEqual(['bad-1']);
    expect(all.letters.map((letter) => letter.jobId)).toEqual(['order-3', 'order-2', 'order-1']);
    expect(await held(queues)).toMatchObject({ queue: ['order-1', 'order-2', 'order-3'], dlq: ['bad-1'] });

    const byId = await redriveDeadLetters({ ...base, ids: ['bad-1', 'no-such-job'] });

    expect(byId).toMatchObject({ examined: 1, matched: 1, redriven: 1, skippedInvalid: [], notFound: ['no-such-job'] });
    expect(await held(queues)).toMatchObject({ queue: ['bad-1', 'order-1', 'order-2', 'order-3'], dlq: [] });
  });

  it("drops MailRequeueCount and keeps the producer's own attributes on a job SQS moved", async () => {
    const queues = await filledQueues();
    await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, filter: { job: 'order-3' } });
    const { queueMessages } = await held(queues);
    expect(queueMessages.map((message) => message.messageAttributes)).toEqual([{ Tenant: { DataType: 'Number', StringValue: '7' } }]);
  });

  it('a claim check keeps ExtendedPayloadSize: on the dead-letter copy, even a partial one with 10 other attributes, and when redriven', async () => {
    const queues = await emulator().createMailQueues();
    const pointer = payloadPointerBody({ bucket: 'mail-payloads', key: 'payloads/job-9', recipients: ['nobody@example.org'] });
    const part = { form: 'narrowed', pending: 1, delivered: 1 } as const;
    const options = { jobId: 'order-9', part, attempts: 3, tags: { tenant: '7' }, attributes: { ExtendedPayloadSize: '2500123' } };
    await deadLetterByHandler(emulator(), queues, pointer, NO_SUCH_USER, options);
    const [letter] = (await queues.contents(queues.dlqName)).ready;
    expect(letter?.body).toBe(pointer);
    expect(letter?.messageAttributes['ExtendedPayloadSize']).toEqual({ DataType: 'Number', StringValue: '2500123' });
    expect(Object.keys(letter?.messageAttributes ?? {})).toHaveLength(10);

    await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, ids: ['order-9'] });

    const queue = await queues.contents(queues.queueName);
    expect(queue.ready.map((message) => [message.body, message.messageAttributes])).toEqual([
      [pointer, { ExtendedPayloadSize: { DataType: 'Number', StringValue: '2500123' } }],
    ]);
  });

  it('changes nothing on a dry run', async () => {
    const queues = await filledQueues();
    const before = await queues.contents(queues.dlqName);

    const summary = await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, all: true, dryRun: true });

    expect(summary).toMatchObject({ examined: 4, matched: 4, redriven: 0, dryRun: true });
    expect(summary.letters.map((letter) => letter.jobId)).toEqual(['order-3', 'order-2', 'order-1']);
    expect(summary.skippedInvalid.map((letter) => letter.jobId)).toEqual(['bad-1']);
    const after = await held(queues);
    expect(after.queue).toEqual([]);
    expect(after.dlq).toEqual(['bad-1', 'order-1', 'order-2', 'order-3']);
    expect((await queues.contents(queues.dlqName)).ready.map((message) => message.body).sort()).toEqual(
      before.ready.map((message) => message.body).sort(),
    );
  });

  it('refuses to guess: no ids, no filter and not all is an error', async () => {
    const queues = await filledQueues();
    await expect(redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, filter: {} })).rejects.toThrow(
      RangeError,
    );
    expect(await held(queues)).toMatchObject({ queue: [], dlq: ['bad-1', 'order-1', 'order-2', 'order-3'] });
  });

  it('when the DLQ delete fails, the job is in both queues, never in neither', async () => {
    const queues = await filledQueues();
    const proxy = await startFailingSqsProxy(emulator().endpoint, (action) => action === 'DeleteMessageBatch');
    const sqs = new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      const summary = await redriveDeadLetters({ sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, filter: { job: 'order-2' } });

      expect(summary).toMatchObject({ matched: 1, redriven: 0, notSent: [] });
      expect(summary.notDeleted.map((failure) => [failure.letter.jobId, failure.reason])).toEqual([
        ['order-2', 'QueueDoesNotExist: The specified queue does not exist.'],
      ]);
      expect(proxy.actions.filter((action) => action !== 'ReceiveMessage')).toEqual([
        'GetQueueAttributes',
        'SendMessage',
        'DeleteMessageBatch',
        'ChangeMessageVisibilityBatch',
      ]);
      expect(await held(queues)).toMatchObject({ queue: ['order-2'], dlq: ['bad-1', 'order-1', 'order-2', 'order-3'] });
    } finally {
      sqs.destroy();
      await proxy.close();
    }
  });

  it('when the mail queue does not take a job, it stays in the DLQ and is not deleted', async () => {
    const queues = await filledQueues();
    const proxy = await startFailingSqsProxy(emulator().endpoint, (action) => action === 'SendMessage');
    const sqs = new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      const summary = await redriveDeadLetters({ sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, filter: { code: '5xx' } });

      expect(summary).toMatchObject({ matched: 2, redriven: 0, notDeleted: [] });
      expect(summary.notSent.map((failure) => failure.letter.jobId).sort()).toEqual(['order-1', 'order-2']);
      expect(proxy.actions).not.toContain('DeleteMessageBatch');
      expect(await held(queues)).toMatchObject({ queue: [], dlq: ['bad-1', 'order-1', 'order-2', 'order-3'] });
    } finally {
      sqs.destroy();
      await proxy.close();
    }
  });

  it('redrives to a FIFO queue in the message group, with a deduplication id that makes a repeat after a crash harmless', async () => {
    const queues = await filledQueues({ fifo: true });
    const proxy = await startFailingSqsProxy(emulator().endpoint, (action) => action === 'DeleteMessageBatch');
    const failing = new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      // First run: sent, then the delete fails (as a crash between the two would leave it).
      const first = await redriveDeadLetters({ sqs: failing, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, filter: { job: 'order-1' } });
      expect(first.notDeleted).toHaveLength(1);
    } finally {
      failing.destroy();
      await proxy.close();
    }
    // Second run: SQS drops the repeated send (same deduplication id) and the DLQ copy goes.
    const second = await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, filter: { job: 'order-1' } });
    expect(second).toMatchObject({ matched: 1, redriven: 1, notDeleted: [], notSent: [] });

    const queue = await queues.contents(queues.queueName);
    expect(jobIds(queue.ready)).toEqual(['order-1']);
    expect(queue.ready[0]?.messageGroupId).toBe('group-1');
    expect(jobIds((await queues.contents(queues.dlqName)).ready)).toEqual(['bad-1', 'order-2', 'order-3']);
  });

  it('does not redrive again a job that fails again and is back in the DLQ while the redrive runs', async () => {
    const queues = await filledQueues();
    // A consumer that dead-letters every job at once, as the handler does with a refused recipient.
    const loop = { running: true };
    let consumed = 0;
    const actions = new QueueActions(emulator().sqs, queues);
    const consumer = (async () => {
      while (loop.running) {
        const reply = await emulator().sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queues.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        for (const message of reply.Messages ?? []) {
          const record = readRecord(recordFromMessage(message, queues.queueArn));
          await actions.deadLetter(record, NO_SUCH_USER, { jobId: (JSON.parse(record.body) as { id: string }).id });
          await emulator().sqs.send(new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: record.receiptHandle }));
          consumed += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    try {
      const summary = await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, ids: ['order-1'] });
      await new Promise((resolve) => setTimeout(resolve, 100));

      expect(summary).toMatchObject({ matched: 1, redriven: 1 });
      expect(consumed).toBe(1);
    } finally {
      loop.running = false;
      await consumer;
    }
    const dlq = await queues.contents(queues.dlqName);
    expect(jobIds(dlq.ready)).toEqual(['bad-1', 'order-1', 'order-2', 'order-3']);
  });
});
