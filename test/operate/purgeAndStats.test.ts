import { describe, expect, it } from 'vitest';
import { deadLetterQueueOf, describeJob, purgeDeadLetters, queueStats } from '../../lib/operate/index.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { deadLetterByHandler, deadLetterBySqs, jobBody, NO_SUCH_USER, SPAM } from './deadLetterQueue.js';

const emulator = useSqsEmulator();

describe('purgeDeadLetters', () => {
  it('deletes every dead letter, counted one by one, FIFO included', async () => {
    for (const fifo of [false, true]) {
      const queues = await emulator().createMailQueues({ fifo, maxReceiveCount: 1 });
      for (let n = 1; n <= 12; n++) await deadLetterByHandler(emulator(), queues, jobBody(`job-${n}`, ['x@example.org']), NO_SUCH_USER);
      const progress: number[] = [];

      const summary = await purgeDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, onProgress: (removed) => progress.push(removed) });

      expect(summary).toEqual({ removed: 12, failed: 0, kept: 0 });
      expect(progress.at(-1)).toBe(12);
      const dlq = await queues.contents(queues.dlqName);
      expect([dlq.ready.length, dlq.inflight.length, dlq.delayed.length]).toEqual([0, 0, 0]);
    }
  });

  it('with a filter, deletes only the matching ones and gives the others back', async () => {
    const queues = await emulator().createMailQueues({ maxReceiveCount: 1 });
    await deadLetterByHandler(emulator(), queues, jobBody('a', ['x@example.org']), NO_SUCH_USER);
    await deadLetterByHandler(emulator(), queues, jobBody('b', ['x@example.org']), SPAM);
    await deadLetterBySqs(emulator(), queues, jobBody('c', ['x@example.org']));

    const summary = await purgeDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, filter: { code: '5xx' }, waitSeconds: 0 });

    expect(summary).toEqual({ removed: 2, failed: 0, kept: 1 });
    const dlq = await queues.contents(queues.dlqName);
    expect(dlq.ready.map((message) => (JSON.parse(message.body) as { id: string }).id)).toEqual(['c']);
    expect(dlq.inflight).toEqual([]);
  });
});

describe('purgeDeadLetters while jobs keep arriving', () => {
  it('deletes what the DLQ held when it began and leaves the arrivals', async () => {
    const queues = await emulator().createMailQueues();
    for (let n = 1; n <= 5; n++) await deadLetterByHandler(emulator(), queues, jobBody(`old-${n}`, ['x@example.org']), NO_SUCH_USER);
    const loop = { running: true, added: 0 };
    // Long polling (1 s) keeps the scan open long enough to meet the arrivals.
    const purging = purgeDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl });
    const arrivals = (async () => {
      while (loop.running && loop.added < 20) {
        await deadLetterByHandler(emulator(), queues, jobBody(`new-${loop.added}`, ['x@example.org']), SPAM);
        loop.added += 1;
      }
    })();

    const summary = await purging;
    loop.running = false;
    await arrivals;

    expect(summary.removed).toBe(5);
    const left = (await queues.contents(queues.dlqName)).ready.map((message) => (JSON.parse(message.body) as { id: string }).id);
    expect(left).toHaveLength(loop.added);
    expect(left.every((id) => id.startsWith('new-'))).toBe(true);
  });
});

describe('queueStats', () => {
  it('gives the depths, and the age of the oldest dead letter from a peek that gives them back', async () => {
    const queues = await emulator().createMailQueues();
    const before = Date.now();
    await deadLetterByHandler(emulator(), queues, jobBody('a', ['x@example.org']), NO_SUCH_USER);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await deadLetterByHandler(emulator(), queues, jobBody('b', ['x@example.org']), SPAM);
    await queues.publish([jobBody('c', ['y@example.org'])]);

    const stats = await queueStats({ sqs: emulator().sqs, queueUrl: queues.queueUrl, dlqUrl: queues.dlqUrl });

    expect(stats).toEqual({
      queueUrl: queues.queueUrl,
      queue: { ready: 1, inFlight: 0, delayed: 0 },
      dlqUrl: queues.dlqUrl,
      dlq: { ready: 2, inFlight: 0, delayed: 0 },
      deadLettersSeen: 2,
      oldestDeadLetterAgeSeconds: expect.any(Number),
    });
    expect(stats.oldestDeadLetterAgeSeconds).toBeGreaterThanOrEqual(1);
    expect(stats.oldestDeadLetterAgeSeconds).toBeLessThanOrEqual(Math.ceil((Date.now() - before) / 1000));
    expect((await queues.contents(queues.dlqName)).inflight).toEqual([]);
    expect((await queues.contents(queues.queueName)).ready).toHaveLength(1);
  });

  it('without a DLQ gives the queue only; an empty DLQ is not peeked', async () => {
    const queues = await emulator().createMailQueues();
    expect(await queueStats({ sqs: emulator().sqs, queueUrl: queues.queueUrl })).toEqual({
      queueUrl: queues.queueUrl,
      queue: { ready: 0, inFlight: 0, delayed: 0 },
    });
    expect(await queueStats({ sqs: emulator().sqs, queueUrl: queues.queueUrl, dlqUrl: queues.dlqUrl })).toEqual({
      queueUrl: queues.queueUrl,
      queue: { ready: 0, inFlight: 0, delayed: 0 },
      dlqUrl: queues.dlqUrl,
      dlq: { ready: 0, inFlight: 0, delayed: 0 },
    });
  });
});

describe('deadLetterQueueOf', () => {
  it("finds the DLQ from the queue's redrive policy, and nothing for a queue without one", async () => {
    const queues = await emulator().createMailQueues();
    expect(await deadLetterQueueOf(emulator().sqs, queues.queueUrl)).toBe(queues.dlqUrl);
    expect(await deadLetterQueueOf(emulator().sqs, queues.dlqUrl)).toBeUndefined();
  });
});

describe('describeJob', () => {
  it('summarises a raw job: envelope, size, the header block', async () => {
    const message = 'From: a@example.com\r\nTo: b@example.org\r\nSubject: folded\r\n  subject\r\n\r\nbody text\r\n';
    const body = JSON.stringify({ v: 1, id: 'raw-1', raw: { envelope: { from: 'a@example.com', to: ['b@example.org'] }, message } });
    expect(await describeJob(body)).toEqual({
      form: 'raw',
      jobId: 'raw-1',
      envelope: { from: 'a@example.com', to: ['b@example.org'] },
      messageBytes: message.length,
      headers: ['From: a@example.com', 'To: b@example.org', 'Subject: folded  subject'],
    });
  });

  it('says what is wrong with a body that is not JSON or not a job', async () => {
    expect(await describeJob('not json')).toEqual({ form: 'invalid', problems: [expect.stringMatching(/^the body is not JSON: /)] });
    expect(await describeJob('{"v":1,"id":"x","subject":"s","text":"t"}')).toMatchObject({
      form: 'invalid',
      jobId: 'x',
      problems: [expect.stringContaining('to')],
    });
  });

  it('composes a job without from with a placeholder sender and lists inline parts and extra headers', async () => {
    const body = JSON.stringify({
      v: 1,
      to: 'Ann <ann@example.com>',
      bcc: 'hidden@example.org',
      subject: 'Hi',
      html: '<img src="cid:logo@x">',
      headers: { 'X-Campaign': 'winter' },
      attachments: [{ filename: 'logo.png', contentType: 'image/png', content: 'iVBORw==', contentId: 'logo@x' }],
    });
    const described = await describeJob(body);
    expect(described).toMatchObject({
      form: 'composed',
      to: ['Ann <ann@example.com>'],
      bcc: ['hidden@example.org'],
      parts: [
        { kind: 'html', bytes: 22 },
        { kind: 'attachment', bytes: 4, filename: 'logo.png', contentType: 'image/png', contentId: 'logo@x' },
      ],
      extraHeaders: ['X-Campaign'],
    });
    expect(described).not.toHaveProperty('from');
    const headers = described.form === 'composed' ? described.headers : [];
    expect(headers.filter((line) => /^(From|X-Campaign|Bcc):/.test(line))).toEqual([
      'X-Campaign: winter',
      'From: configured-sender@configured.invalid',
    ]);
  });
});
