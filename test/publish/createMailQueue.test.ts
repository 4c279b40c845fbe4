import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contentJobId, InvalidJobError, parseMailJob, type MailJobInput } from '../../lib/message/index.js';
import { createMailQueue, PublishError, SQS_MAX_BYTES, type PublishResult } from '../../lib/publish/index.js';
import { sqsClient, startFauxqs, startSqsProxy, type Fauxqs, type FaultPlan, type SqsProxy } from './fauxqs.js';

let sqs: Fauxqs;
beforeAll(async () => {
  sqs = await startFauxqs();
});
afterAll(async () => {
  await sqs.close();
});

const job = (n: number, extra: Partial<MailJobInput> = {}): MailJobInput => ({
  v: 1,
  id: `job-${n}`,
  to: `r${n}@example.com`,
  subject: `Subject ${n}`,
  text: `Body ${n}`,
  ...extra,
});
const quick = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** A queue behind a recording (and optionally fault-injecting) proxy. */
async function withProxy<T>(queueUrl: string, faults: FaultPlan | undefined, run: (proxy: SqsProxy) => Promise<T>): Promise<T> {
  const proxy = await startSqsProxy(sqs.endpoint, faults);
  try {
    return await run(proxy);
  } finally {
    await proxy.close();
  }
}
const batchCalls = (proxy: SqsProxy) => proxy.calls.filter((c) => c.action === 'SendMessageBatch');
const entryCounts = (proxy: SqsProxy) => batchCalls(proxy).map((c) => (c.body.Entries as unknown[]).length);

describe('createMailQueue: send', () => {
  it('publishes one checked job as its JSON and returns the SQS message id', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client });
    const sent = await queue.send(job(1));
    const [message, ...rest] = await sqs.drain(queueUrl);
    expect(rest).toEqual([]);
    expect(sent).toEqual({ ok: true, index: 0, jobId: 'job-1', messageId: message!.MessageId, attempts: 1 });
    expect(JSON.parse(message!.Body!)).toEqual(job(1));
    expect(queue.fifo).toBe(false);
  });

  it('throws InvalidJobError for a bad job and sends nothing', async () => {
    const queueUrl = await sqs.createQueue('mail');
    await withProxy(queueUrl, undefined, async (proxy) => {
      const queue = createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint) });
      const error = await queue.send({ v: 1, to: 'a@example.com, b@example.com', subjet: 'x', text: 't' } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidJobError);
      // An unknown field is named in the message, not in the path (paths are logged: issue 13, item 9).
      expect((error as InvalidJobError).issues.map((i) => i.path)).toEqual(['to', 'subject', '']);
      expect((error as InvalidJobError).issues[2]?.message).toMatch(/^"subjet" is not a field/);
      expect(proxy.calls).toEqual([]);
    });
    expect(await sqs.drain(queueUrl)).toEqual([]);
  });

  it('throws PublishError when SQS does not take the job', async () => {
    const queue = createMailQueue({ queueUrl: `${sqs.endpoint}/000000000000/no-such-queue`, client: sqs.client });
    const error = await queue.send(job(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({ code: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/), senderFault: true });
  });

  it('builds its own client from the environment, AWS_ENDPOINT_URL_SQS winning over the queue host', async () => {
    const queueUrl = await sqs.createQueue('mail');
    vi.stubEnv('AWS_ENDPOINT_URL_SQS', sqs.endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    try {
      await createMailQueue({ queueUrl }).send(job(9));
    } finally {
      vi.unstubAllEnvs();
    }
    expect((await sqs.drain(queueUrl)).map((m) => JSON.parse(m.Body!) as MailJobInput)).toEqual([job(9)]);
  });

  it('refuses a queue URL that is not one', () => {
    expect(() => createMailQueue({ queueUrl: 'mail-queue' })).toThrow(TypeError);
  });
});

describe('createMailQueue: sendBatch', () => {
  it('splits 25 jobs into 3 SendMessageBatch calls of 10, 10 and 5, results in order', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const jobs = Array.from({ length: 25 }, (_, n) => job(n));
    const results = await withProxy(queueUrl, undefined, async (proxy) => {
      const out = await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint) }).sendBatch(jobs);
      expect(entryCounts(proxy)).toEqual([10, 10, 5]);
      return out;
    });
    expect(results.map((r) => [r.ok, r.index, r.jobId, r.attempts])).toEqual(jobs.map((_, n) => [true, n, `job-${n}`, 1]));
    const bodies = (await sqs.drain(queueUrl)).map((m) => JSON.parse(m.Body!) as MailJobInput);
    expect(bodies.sort((a, b) => Number(a.id!.slice(4)) - Number(b.id!.slice(4)))).toEqual(jobs);
  });

  it('throws for any bad job, with paths starting at its position, and sends none', async () => {
    const queueUrl = await sqs.createQueue('mail');
    await withProxy(queueUrl, undefined, async (proxy) => {
      const queue = createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint) });
      const jobs = [job(0), job(1, { to: 'nobody' }), job(2), job(3, { headers: { Bcc: 'x@example.com' } })];
      const error = await queue.sendBatch(jobs).catch((e: unknown) => e);
      expect((error as InvalidJobError).issues).toEqual([
        { path: '[1].to', message: '"nobody" has no \'@\'' },
        { path: '[3].headers[0]', message: '"Bcc" is set by the product from the job\'s own fields and cannot be given in headers' },
      ]);
      expect(proxy.calls).toEqual([]);
    });
  });

  it('returns an empty list for no jobs without calling SQS', async () => {
    const queueUrl = await sqs.createQueue('mail');
    await withProxy(queueUrl, undefined, async (proxy) => {
      expect(await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint) }).sendBatch([])).toEqual([]);
      expect(proxy.calls).toEqual([]);
    });
  });
});

describe('createMailQueue: size limits', () => {
  /** A job whose JSON is exactly `bytes` octets. */
  function jobOfSize(bytes: number, n = 0): MailJobInput {
    const shell = JSON.stringify(job(n, { text: '' }));
    return job(n, { text: 'x'.repeat(bytes - Buffer.byteLength(shell)) });
  }

  it('takes a job of exactly 1 MiB and refuses one octet more, before sending', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client });
    expect(Buffer.byteLength(JSON.stringify(jobOfSize(SQS_MAX_BYTES)))).toBe(SQS_MAX_BYTES);
    await expect(queue.send(jobOfSize(SQS_MAX_BYTES))).resolves.toMatchObject({ ok: true });
    const error = await queue.send(jobOfSize(SQS_MAX_BYTES + 1)).catch((e: unknown) => e);
    expect(error).toEqual(
      new InvalidJobError([
        {
          path: '',
          message:
            'is 1048577 octets as JSON; SQS takes at most 1048576 octets per message: give the queue a payloadBucket ' +
            '(mail-queue: --payload-bucket) to send larger jobs through S3, up to 41943040 octets',
        },
      ]),
    );
    const messages = await sqs.drain(queueUrl);
    expect(messages.map((m) => Buffer.byteLength(m.Body!))).toEqual([SQS_MAX_BYTES]);
  });

  it('counts octets, not characters', async () => {
    const queue = createMailQueue({ queueUrl: await sqs.createQueue('mail'), client: sqs.client });
    const shell = Buffer.byteLength(JSON.stringify(job(0, { text: '' })));
    const chars = Math.ceil((SQS_MAX_BYTES - shell) / 2) + 1; // 'ü' is two octets
    await expect(queue.send(job(0, { text: 'ü'.repeat(chars) }))).rejects.toThrow(/SQS takes at most 1048576 octets/);
  });

  it('keeps each SendMessageBatch call within 1 MiB', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const jobs = [jobOfSize(400_000, 0), jobOfSize(400_000, 1), jobOfSize(400_000, 2), jobOfSize(200_000, 3), jobOfSize(1000, 4)];
    await withProxy(queueUrl, undefined, async (proxy) => {
      const results = await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint) }).sendBatch(jobs);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(entryCounts(proxy)).toEqual([2, 3]);
      for (const call of batchCalls(proxy)) {
        const total = (call.body.Entries as { MessageBody: string }[]).reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody), 0);
        expect(total).toBeLessThanOrEqual(SQS_MAX_BYTES);
      }
    });
    expect(await sqs.drain(queueUrl)).toHaveLength(5);
  });

  it('escapes U+FFFE and U+FFFF, which SQS refuses raw, and the job reads back the same', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const odd = job(0, { text: 'a\uffffb\ufffe' });
    await createMailQueue({ queueUrl, client: sqs.client }).send(odd);
    const [message] = await sqs.drain(queueUrl);
    expect(message!.Body).toContain('a\\uffffb\\ufffe');
    expect(JSON.parse(message!.Body!)).toEqual(odd);
    expect(parseMailJob(JSON.parse(message!.Body!))).toMatchObject({ text: 'a\uffffb\ufffe' });
  });
});

describe('createMailQueue: partial failures', () => {
  it('reports entries SQS refused for real (a queue with a 1 KiB limit) and does not retry them', async () => {
    const queueUrl = await sqs.createQueue('small', { MaximumMessageSize: '1024' });
    const jobs = [job(0), job(1, { text: 'x'.repeat(2000) }), job(2)];
    const results = await withProxy(queueUrl, undefined, async (proxy) => {
      const out = await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint), retry: quick }).sendBatch(jobs);
      expect(entryCounts(proxy)).toEqual([3]);
      return out;
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const failed = results[1] as Extract<PublishResult, { ok: false }>;
    expect(failed).toMatchObject({ index: 1, jobId: 'job-1', attempts: 1 });
    expect(failed.error).toBeInstanceOf(PublishError);
    expect(failed.error).toMatchObject({
      code: 'InvalidParameterValue',
      senderFault: true,
      message: expect.stringMatching(/shorter than 1024 bytes/),
    });
    expect((await sqs.drain(queueUrl)).map((m) => (JSON.parse(m.Body!) as MailJobInput).id).sort()).toEqual(['job-0', 'job-2']);
  });

  it('retries only the entries SQS failed on its side, and each lands once', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const jobs = Array.from({ length: 10 }, (_, n) => job(n));
    const results = await withProxy(
      queueUrl,
      (call) => (call === 1 ? ['2', '7'] : []),
      async (proxy) => {
        const out = await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint), retry: quick }).sendBatch(jobs);
        expect(entryCounts(proxy)).toEqual([10, 2]);
        const retried = (batchCalls(proxy)[1]!.body.Entries as { MessageBody: string }[]).map((e) => (JSON.parse(e.MessageBody) as MailJobInput).id);
        expect(retried).toEqual(['job-2', 'job-7']);
        return out;
      },
    );
    expect(results.map((r) => [r.ok, r.attempts])).toEqual(jobs.map((_, n) => [true, n === 2 || n === 7 ? 2 : 1]));
    const ids = (await sqs.drain(queueUrl)).map((m) => (JSON.parse(m.Body!) as MailJobInput).id).sort();
    expect(ids).toEqual(jobs.map((j) => j.id).sort());
  });

  it('gives up after the configured attempts and reports the last error', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const results = await withProxy(
      queueUrl,
      (_call, ids) => ids.filter((id) => id === '0'),
      async (proxy) => {
        const out = await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint), retry: quick }).sendBatch([job(0), job(1)]);
        expect(entryCounts(proxy)).toEqual([2, 1, 1]);
        return out;
      },
    );
    expect(results[0]).toMatchObject({
      ok: false,
      attempts: 3,
      error: { code: 'InternalError', senderFault: false, message: 'injected: try again' },
    });
    expect(results[1]).toMatchObject({ ok: true, attempts: 1 });
    expect(await sqs.drain(queueUrl)).toHaveLength(1);
  });

  it('fails every entry of a call that SQS refused as a whole, and goes on with the next call', async () => {
    const queue = createMailQueue({ queueUrl: `${sqs.endpoint}/000000000000/missing`, client: sqs.client, retry: quick });
    const results = await queue.sendBatch(Array.from({ length: 12 }, (_, n) => job(n)));
    expect(results).toHaveLength(12);
    expect(results.every((r) => !r.ok && r.error.senderFault && /QueueDoesNotExist|NonExistentQueue/.test(r.error.code))).toBe(true);
  });
});

describe('createMailQueue: FIFO queues', () => {
  const attribute = (m: { Attributes?: Record<string, string> }, name: string) => m.Attributes?.[name];

  it('sets the message group and the job id as deduplication id; a repeated id lands once', async () => {
    const queueUrl = await sqs.createQueue('mail.fifo');
    const queue = createMailQueue({ queueUrl, client: sqs.client });
    expect(queue.fifo).toBe(true);
    const results = await queue.sendBatch([job(1), job(2), job(1, { text: 'retry of job 1' })]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results.every((r) => r.ok && /^\d+$/.test(r.sequenceNumber ?? ''))).toBe(true);
    const messages = await sqs.drain(queueUrl);
    expect(
      messages.map((m) => [(JSON.parse(m.Body!) as MailJobInput).id, attribute(m, 'MessageGroupId'), attribute(m, 'MessageDeduplicationId')]),
    ).toEqual([
      ['job-1', 'mail', 'job-1'],
      ['job-2', 'mail', 'job-2'],
    ]);
    expect((JSON.parse(messages[0]!.Body!) as { text: string }).text).toBe('Body 1');
  });

  it('uses the id derived from its content when the job has none: identical jobs land once, different ones both', async () => {
    const queueUrl = await sqs.createQueue('mail.fifo');
    const a: MailJobInput = { v: 1, to: 'a@example.com', subject: 's', text: 'same' };
    const b: MailJobInput = { v: 1, to: 'a@example.com', subject: 's', text: 'other' };
    await createMailQueue({ queueUrl, client: sqs.client }).sendBatch([a, a, b]);
    const messages = await sqs.drain(queueUrl);
    expect(messages.map((m) => attribute(m, 'MessageDeduplicationId'))).toEqual([contentJobId(parseMailJob(a)), contentJobId(parseMailJob(b))]);
  });

  it('hashes a job id longer than the 128 characters SQS takes', async () => {
    const queueUrl = await sqs.createQueue('mail.fifo');
    const id = 'x'.repeat(150);
    await createMailQueue({ queueUrl, client: sqs.client }).send(job(0, { id }));
    const [message] = await sqs.drain(queueUrl);
    expect(attribute(message!, 'MessageDeduplicationId')).toBe(createHash('sha256').update(id).digest('hex'));
  });

  it('takes the message group from the option, a string or a function of the job', async () => {
    const queueUrl = await sqs.createQueue('mail.fifo');
    await createMailQueue({ queueUrl, client: sqs.client, messageGroupId: (j) => `tenant-${j.id!.slice(-1)}` }).sendBatch([job(1), job(2)]);
    await createMailQueue({ queueUrl, client: sqs.client, messageGroupId: 'fixed' }).send(job(3));
    const groups = (await sqs.drain(queueUrl)).map((m) => attribute(m, 'MessageGroupId')).sort();
    expect(groups).toEqual(['fixed', 'tenant-1', 'tenant-2']);
  });

  it('sends no group or deduplication id to a standard queue', async () => {
    const queueUrl = await sqs.createQueue('mail');
    await withProxy(queueUrl, undefined, async (proxy) => {
      await createMailQueue({ queueUrl, client: sqsClient(proxy.endpoint) }).send(job(1));
      const [entry] = batchCalls(proxy)[0]!.body.Entries as Record<string, unknown>[];
      expect(Object.keys(entry!).sort()).toEqual(['Id', 'MessageBody']);
    });
  });
});
