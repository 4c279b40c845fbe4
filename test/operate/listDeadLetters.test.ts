import { describe, expect, it } from 'vitest';
import { findDeadLetters, listDeadLetters } from '../../lib/operate/index.js';
import type { DeadLetter } from '../../lib/operate/index.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { deadLetterByHandler, deadLetterBySqs, jobBody, NO_SUCH_USER, SPAM } from './deadLetterQueue.js';

const emulator = useSqsEmulator();

/** A DLQ with, oldest first: a refused recipient, an invalid job, a spam refusal, a job SQS moved. */
async function fourLetters() {
  const queues = await emulator().createMailQueues({ maxReceiveCount: 1 });
  const rcpt = await deadLetterByHandler(emulator(), queues, jobBody('order-1', ['nobody@example.org', 'ann@Example.com']), NO_SUCH_USER, {
    jobId: 'order-1',
    part: { form: 'narrowed', pending: 1, delivered: 1 },
  });
  const invalid = await deadLetterByHandler(emulator(), queues, '{"v":1,"id":"bad-1","to":"not an address","subject":"x","text":"y"}', {
    phase: 'job',
    message: 'invalid mail job: to: not an address',
  });
  const spam = await deadLetterByHandler(emulator(), queues, jobBody('order-2', ['bob@example.net']), SPAM, { jobId: 'order-2' });
  await deadLetterBySqs(emulator(), queues, jobBody('order-3', ['carol@example.com']));
  return { queues, rcpt, invalid, spam };
}

const summary = (letter: DeadLetter) => [letter.jobId, letter.source, letter.reason?.phase, letter.invalid, letter.recipientDomains.join(',')];

describe('listDeadLetters', () => {
  it('lists every dead letter, newest first, with its reason, and leaves the DLQ as it was', async () => {
    const { queues, rcpt, invalid } = await fourLetters();

    const letters = await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl });

    expect(letters.map(summary)).toEqual([
      ['order-3', 'sqs', undefined, false, 'example.com'],
      ['order-2', 'handler', 'data', false, 'example.net'],
      ['bad-1', 'handler', 'job', true, ''],
      ['order-1', 'handler', 'rcpt', false, 'example.com,example.org'],
    ]);
    const [moved, , refusedInvalid, refused] = letters;
    expect(refused).toEqual({
      messageId: expect.any(String),
      jobId: 'order-1',
      sentAt: expect.any(Date),
      source: 'handler',
      kind: 'permanent',
      reason: {
        phase: 'rcpt',
        code: 550,
        enhancedCode: '5.1.1',
        message: '550 5.1.1 <nobody@example.org>: no such user',
      },
      // A partial copy has 12 attributes; SQS takes 10: FailureError and SourceReceiveCount go (QueueActions.fitAttributes).
      recipientDomains: ['example.com', 'example.org'],
      invalid: false,
      sourceMessageId: rcpt,
      part: { form: 'narrowed', pending: 1, delivered: 1 },
      bodyBytes: jobBody('order-1', ['nobody@example.org', 'ann@Example.com']).length,
      attributes: {
        FailurePhase: 'rcpt',
        FailureKind: 'permanent',
        FailureMessage: '550 5.1.1 <nobody@example.org>: no such user',
        SourceMessageId: rcpt,
        FailureCode: '550',
        FailureEnhancedCode: '5.1.1',
        JobId: 'order-1',
        JobForm: 'narrowed',
        PendingRecipients: '1',
        DeliveredRecipients: '1',
      },
    });
    expect(refusedInvalid?.sourceMessageId).toBe(invalid);
    expect(refusedInvalid?.kind).toBe('invalid');
    expect(moved).toEqual({
      messageId: expect.any(String),
      jobId: 'order-3',
      sentAt: expect.any(Date),
      source: 'sqs',
      recipientDomains: ['example.com'],
      invalid: false,
      bodyBytes: jobBody('order-3', ['carol@example.com']).length,
      attributes: {},
    });
    const contents = await queues.contents(queues.dlqName);
    expect(contents.ready.map((message) => message.messageId).sort()).toEqual(letters.map((letter) => letter.messageId).sort());
    expect(contents.inflight).toEqual([]);
  });

  it('filters by reason, code, job and time', async () => {
    const { queues } = await fourLetters();
    const list = async (filter: Parameters<typeof listDeadLetters>[0]['filter']) =>
      (await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, filter, waitSeconds: 0 })).map((letter) => letter.jobId);

    expect(await list({ reason: 'RCPT' })).toEqual(['order-1']);
    expect(await list({ reason: 'spam' })).toEqual(['order-2']);
    expect(await list({ reason: 'moved by SQS' })).toEqual(['order-3']);
    expect(await list({ code: '550' })).toEqual(['order-1']);
    expect(await list({ code: '5.7.1' })).toEqual(['order-2']);
    expect(await list({ code: '5xx' })).toEqual(['order-2', 'order-1']);
    expect(await list({ code: '4xx' })).toEqual([]);
    expect(await list({ job: 'bad-1' })).toEqual(['bad-1']);
    expect(await list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await list({ since: new Date(Date.now() - 60_000), code: '5xx', reason: 'data' })).toEqual(['order-2']);
  });

  it('looks at no more than max messages', async () => {
    const { queues } = await fourLetters();
    expect(await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, max: 2 })).toHaveLength(2);
    expect((await queues.contents(queues.dlqName)).ready).toHaveLength(4);
  });
});

describe('findDeadLetters', () => {
  it('finds a letter by job id or by SQS message id, with its body', async () => {
    const { queues } = await fourLetters();
    const [byJob, ...others] = await findDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, id: 'order-2' });
    expect(others).toEqual([]);
    expect(byJob?.body).toBe(jobBody('order-2', ['bob@example.net']));
    const byMessage = await findDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, id: byJob?.letter.messageId ?? '' });
    expect(byMessage.map((found) => found.letter.jobId)).toEqual(['order-2']);
    expect(await findDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, id: 'nothing' })).toEqual([]);
    expect((await queues.contents(queues.dlqName)).ready).toHaveLength(4);
  });
});
