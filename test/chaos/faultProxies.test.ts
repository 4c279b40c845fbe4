/**
 * The fault-injection run's proxies, against the real components they sit between: the SMTP fault
 * proxy in front of the run's relay with our SMTP client (a copy is acknowledged only when its final
 * reply reached the client), and the SQS fault proxy in front of the emulator with the AWS SDK (the
 * SDK reads the injected errors as SQS's own).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, startLocalSqs } from '../../lib/local/LocalSqs.js';
import { SmtpClient } from '../../lib/smtp/index.js';
import { startChaosRelay } from './chaosRelay.js';
import type { ChaosRelay } from './chaosRelay.js';
import { FaultLog } from './FaultLog.js';
import { SeededRandom } from './random.js';
import { startSmtpFaultProxy } from './SmtpFaultProxy.js';
import type { SmtpFaultProxy, SmtpProxyFaults } from './SmtpFaultProxy.js';
import { startSqsFaultProxy } from './SqsFaultProxy.js';
import type { SqsProxyFaults } from './SqsFaultProxy.js';

const NO_SMTP_FAULTS: SmtpProxyFaults = {
  dropClientToServer: 0,
  dropServerToClient: 0,
  dropAfterDot: 0,
  stall: 0,
  stallAfterDot: 0,
  stallMs: [100, 100],
  spanBytes: 3000,
};
const MESSAGE = 'From: a@chaos.test\r\nTo: ok1+p1@chaos.test\r\nMessage-ID: <p1@chaos.test>\r\nSubject: proxy\r\n\r\nHello.\r\n';

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function smtpPath(faults: SmtpProxyFaults): Promise<{ relay: ChaosRelay; proxy: SmtpFaultProxy; log: FaultLog }> {
  const log = new FaultLog();
  const path: { proxy?: SmtpFaultProxy } = {};
  const relay = await startChaosRelay({ rcpt450: 0, later450: 0, smtp421: 0, rcptLimit: 0 }, new SeededRandom(1), log, (port) =>
    path.proxy?.connOf(port),
  );
  stops.push(() => relay.stop());
  const proxy = await startSmtpFaultProxy(relay.port, faults, new SeededRandom(1), log);
  path.proxy = proxy;
  stops.push(() => proxy.stop());
  return { relay, proxy, log };
}

describe('the SMTP fault proxy', () => {
  it('passes a session through and marks the copy acknowledged once its final reply reached the client', async () => {
    const { relay, proxy, log } = await smtpPath(NO_SMTP_FAULTS);
    const client = await SmtpClient.connect({ host: '127.0.0.1', port: proxy.port, security: 'none' });
    const result = await client.send({ from: 'a@chaos.test', to: ['ok1+p1@chaos.test'] }, MESSAGE);
    await client.quit();
    expect(result.reply.lines.join(' ')).toContain('queued as C1');
    expect(relay.copies.map((copy) => ({ id: copy.copyId, job: copy.jobId, to: copy.recipients, conn: copy.conn }))).toEqual([
      { id: 'C1', job: 'p1', to: ['ok1+p1@chaos.test'], conn: 'c1' },
    ]);
    expect([...proxy.acknowledged]).toEqual(['C1']);
    expect(log.events).toEqual([]);
  });

  it('tells onAcknowledged of each copy as its reply reaches the client (the run kills invocations then)', async () => {
    const { proxy } = await smtpPath(NO_SMTP_FAULTS);
    const told: string[] = [];
    proxy.onAcknowledged = (copyId) => told.push(copyId);
    const client = await SmtpClient.connect({ host: '127.0.0.1', port: proxy.port, security: 'none' });
    await client.send({ from: 'a@chaos.test', to: ['ok1+p1@chaos.test'] }, MESSAGE);
    await client.send({ from: 'a@chaos.test', to: ['ok1+p1@chaos.test'] }, MESSAGE);
    await client.quit();
    expect(told).toEqual(['C1', 'C2']);
  });

  it('cuts right after the end of data: the relay kept the message, the client got no reply (ambiguous), the copy is not acknowledged', async () => {
    const { relay, proxy, log } = await smtpPath({ ...NO_SMTP_FAULTS, dropAfterDot: 1 });
    const client = await SmtpClient.connect({ host: '127.0.0.1', port: proxy.port, security: 'none' });
    const sends = [1, 2, 3, 4].map((n) => client.send({ from: 'a@chaos.test', to: ['ok1+p1@chaos.test'] }, MESSAGE.replace('Hello', `Hello ${n}`)));
    const settled = await Promise.allSettled(sends);
    client.close();
    const failed = settled.filter((outcome) => outcome.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    const firstFailure = (failed[0] as PromiseRejectedResult).reason as { ambiguous?: boolean };
    expect(firstFailure.ambiguous).toBe(true);
    // Every copy the relay kept either had its reply delivered (the sends that resolved) or not.
    const delivered = settled.filter((outcome) => outcome.status === 'fulfilled').length;
    expect(relay.copies).toHaveLength(delivered + 1);
    expect(proxy.acknowledged.size).toBe(delivered);
    expect(log.events.map((event) => [event.kind, event.conn])).toEqual([['smtpDropAfterDot', 'c1']]);
  });

  it('holds the reply to an end of data, then passes it on', async () => {
    const { relay, proxy, log } = await smtpPath({ ...NO_SMTP_FAULTS, stallAfterDot: 1, stallMs: [400, 400] });
    const client = await SmtpClient.connect({ host: '127.0.0.1', port: proxy.port, security: 'none' });
    const sends = [1, 2, 3, 4].map((n) => client.send({ from: 'a@chaos.test', to: ['ok1+p1@chaos.test'] }, MESSAGE.replace('Hello', `Hello ${n}`)));
    const started = Date.now();
    await Promise.all(sends);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    await client.quit();
    expect(relay.copies).toHaveLength(4);
    expect(proxy.acknowledged.size).toBe(4);
    expect(log.events.map((event) => event.kind)).toEqual(['smtpStall']);
  });
});

describe('the SQS fault proxy', () => {
  const NO_SQS_FAULTS: SqsProxyFaults = { error500: 0, throttle: 0, slow: 0, slowMs: [0, 0], brownout: { windowMs: 1000, chance: 0 } };

  async function sqsPath(
    faults: SqsProxyFaults,
  ): Promise<{ client: SQSClient; queueUrl: string; dlqUrl: string; log: FaultLog; sent: { jobId: string; queueUrl: string }[] }> {
    const settings = {
      environment: 't',
      region: 'eu-west-1',
      batchSize: 1,
      maxConcurrency: 1,
      memorySize: 128,
      timeoutSeconds: 1,
      batchingWindowSeconds: 0,
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 5,
      fifo: false,
    };
    const sqs = await startLocalSqs(0, settings);
    stops.push(() => sqs.stop());
    const log = new FaultLog();
    const proxy = await startSqsFaultProxy(sqs.endpoint, faults, new SeededRandom(1), log);
    stops.push(() => proxy.stop());
    const client = new SQSClient({ endpoint: proxy.endpoint, region: 'eu-west-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    stops.push(() => {
      client.destroy();
      return Promise.resolve();
    });
    return { client, queueUrl: sqs.queueUrl, dlqUrl: sqs.dlqUrl, log, sent: proxy.sent };
  }

  it('answers 500 InternalError and 400 ThrottlingException in the shape the SDK reads, without reaching the emulator', async () => {
    const failing = await sqsPath({ ...NO_SQS_FAULTS, error500: 1 });
    const error500 = await failing.client
      .send(new SendMessageCommand({ QueueUrl: failing.queueUrl, MessageBody: '{"id":"j1"}' }))
      .catch((error: unknown) => error);
    expect(error500).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 }, $fault: 'server' });
    const throttled = await sqsPath({ ...NO_SQS_FAULTS, throttle: 1 });
    const error400 = await throttled.client
      .send(new SendMessageCommand({ QueueUrl: throttled.queueUrl, MessageBody: '{"id":"j1"}' }))
      .catch((error: unknown) => error);
    expect(error400).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect([...failing.log.events, ...throttled.log.events].map((event) => [event.kind, event.detail])).toEqual([
      ['sqs500', 'SendMessage job j1'],
      ['sqsThrottle', 'SendMessage job j1'],
    ]);
    expect([...failing.sent, ...throttled.sent]).toEqual([]);
  });

  it('forwards the rest, late when slow, and notes each job the emulator took', async () => {
    const slow = await sqsPath({ ...NO_SQS_FAULTS, slow: 1, slowMs: [300, 300] });
    const started = Date.now();
    const reply = await slow.client.send(new SendMessageCommand({ QueueUrl: slow.queueUrl, MessageBody: '{"id":"j2"}' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(reply.MessageId).toMatch(/./);
    expect(slow.sent).toMatchObject([{ jobId: 'j2', queueUrl: slow.queueUrl }]);
    expect(slow.log.events.map((event) => event.kind)).toEqual(['sqsSlow']);
  });

  it("fails re-enqueues (SendMessage to the mail queue) with requeueFail, never the DLQ's", async () => {
    const path = await sqsPath({ ...NO_SQS_FAULTS, requeueFail: 1 });
    const requeue = await path.client
      .send(new SendMessageCommand({ QueueUrl: path.queueUrl, MessageBody: '{"id":"j3"}' }))
      .catch((error: unknown) => error);
    expect(requeue).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    const { dlqUrl } = path;
    const deadLetter = await path.client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: '{"id":"j3"}' }));
    expect(deadLetter.MessageId).toMatch(/./);
    expect(path.log.events.map((event) => [event.kind, event.detail])).toEqual([['requeueFail', 'SendMessage job j3']]);
    expect(path.sent).toMatchObject([{ jobId: 'j3', queueUrl: dlqUrl }]);
  });
});
