import { describe, expect, it } from 'vitest';
import { listDeadLetters, redriveDeadLetters } from '../../lib/operate/index.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { deadLetterByHandler, jobBody, NO_SUCH_USER, SPAM } from './deadLetterQueue.js';

const emulator = useSqsEmulator();

/** A FIFO DLQ whose three letters are in one message group (the handler keeps the record's group). */
async function oneGroup() {
  const queues = await emulator().createMailQueues({ fifo: true });
  await deadLetterByHandler(emulator(), queues, jobBody('f-1', ['x@example.org']), NO_SUCH_USER, { jobId: 'f-1', groupId: 'tenant-7' });
  await deadLetterByHandler(emulator(), queues, jobBody('f-2', ['x@example.org']), SPAM, { jobId: 'f-2', groupId: 'tenant-7' });
  await deadLetterByHandler(emulator(), queues, jobBody('f-3', ['x@example.org']), NO_SUCH_USER, { jobId: 'f-3', groupId: 'tenant-7' });
  return queues;
}

describe('a FIFO DLQ, one message group', () => {
  it('lists only the first letter of the group: SQS hands out no other while one is received', async () => {
    const queues = await oneGroup();
    const letters = await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, waitSeconds: 0 });
    expect(letters.map((letter) => [letter.jobId, letter.messageGroupId])).toEqual([['f-1', 'tenant-7']]);
    expect((await queues.contents(queues.dlqName)).ready).toHaveLength(3);
  });

  it('redrives the whole group with --all, in order, into the same group', async () => {
    const queues = await oneGroup();

    const summary = await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, all: true, waitSeconds: 0 });

    expect(summary).toMatchObject({ examined: 3, matched: 3, redriven: 3 });
    const queue = await queues.contents(queues.queueName);
    expect(queue.ready.map((message) => [(JSON.parse(message.body) as { id: string }).id, message.messageGroupId])).toEqual([
      ['f-1', 'tenant-7'],
      ['f-2', 'tenant-7'],
      ['f-3', 'tenant-7'],
    ]);
    expect((await queues.contents(queues.dlqName)).ready).toEqual([]);
  });

  it('a filtered redrive stops at the first letter of the group it does not take (the order of the group is kept)', async () => {
    const queues = await oneGroup();

    const summary = await redriveDeadLetters({
      sqs: emulator().sqs,
      dlqUrl: queues.dlqUrl,
      queueUrl: queues.queueUrl,
      filter: { code: '550' },
      waitSeconds: 0,
    });

    expect(summary).toMatchObject({ examined: 2, matched: 1, redriven: 1 });
    expect((await queues.contents(queues.queueName)).ready.map((message) => (JSON.parse(message.body) as { id: string }).id)).toEqual(['f-1']);
    expect((await queues.contents(queues.dlqName)).ready.map((message) => (JSON.parse(message.body) as { id: string }).id)).toEqual(['f-2', 'f-3']);
  });
});
