/**
 * The local run's SQS emulator answers only requests addressed to this machine by a loopback
 * name and its own port: a web page elsewhere that points a DNS name at 127.0.0.1 (DNS
 * rebinding) can neither read the queues through the inspection endpoint nor post jobs.
 */
import { request } from 'node:http';
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs } from '../../lib/local/LocalSqs.js';
import { isLoopbackHost } from '../../lib/local/loopbackHost.js';
import type { LocalSqs } from '../../lib/local/LocalSqs.js';
import { DEV_PIPELINE_SETTINGS } from '../support/localSettings.js';

const SETTINGS = DEV_PIPELINE_SETTINGS;

let sqs: LocalSqs;

beforeAll(async () => {
  sqs = await startLocalSqs(0, SETTINGS);
});
afterAll(async () => {
  await sqs.stop();
});

interface Reply {
  status: number;
  body: string;
}

/** A raw HTTP request to the emulator with a chosen Host header (fetch does not let one set it). */
function send(method: 'GET' | 'POST', urlPath: string, host: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sqs.port, method, path: urlPath, headers: { ...headers, host } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An unsigned SendMessage in the JSON protocol, as a browser could post it. */
function unsignedSendMessage(host: string, text: string): Promise<Reply> {
  return send('POST', '/', host, JSON.stringify({ QueueUrl: sqs.queueUrl, MessageBody: text }), {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'AmazonSQS.SendMessage',
  });
}

describe('the local SQS emulator (DNS rebinding)', () => {
  it('refuses an unsigned SendMessage and the inspection endpoint for a foreign Host', async () => {
    const foreign = `rebind.attacker.example:${sqs.port}`;
    const posted = await unsignedSendMessage(foreign, 'from a foreign page');
    expect(posted.status).toBe(421);
    expect(posted.body).toBe('wrong host\n');
    expect(await sqs.peek('queue')).toEqual([]);
    // (fauxqs reads a dotted foreign name as an S3 bucket; a one-label name reached the queues.)
    for (const host of [foreign, `rebind:${sqs.port}`]) {
      const inspect = await send('GET', '/_fauxqs/queues/mail', host);
      expect(inspect.status, host).toBe(421);
      expect(inspect.body).not.toContain('arn:aws:sqs');
    }
  });

  it('refuses a loopback name on another port, and a Host without a port', async () => {
    expect((await send('GET', '/_fauxqs/queues/mail', `127.0.0.1:${sqs.port + 1}`)).status).toBe(421);
    expect((await send('GET', '/_fauxqs/queues/mail', 'localhost')).status).toBe(421);
    expect((await send('GET', '/_fauxqs/queues/mail', `localhost.attacker.example:${sqs.port}`)).status).toBe(421);
  });

  it('answers loopback names with its port: 127.0.0.1, localhost and *.localhost (the queue URLs)', async () => {
    for (const host of [`127.0.0.1:${sqs.port}`, `localhost:${sqs.port}`]) {
      expect((await send('GET', '/_fauxqs/queues/mail', host)).status, host).toBe(200);
    }
    // The queue URL's own host name, in any case (host names are case-insensitive).
    expect(new URL(sqs.queueUrl).hostname).toBe('sqs.eu-west-1.localhost');
    for (const host of [`sqs.eu-west-1.localhost:${sqs.port}`, `SQS.EU-WEST-1.LOCALHOST:${sqs.port}`]) {
      expect((await unsignedSendMessage(host, host)).status, host).toBe(200);
    }
    const held = await sqs.peek('queue');
    expect(held.map((message) => message.body).sort()).toEqual([`SQS.EU-WEST-1.LOCALHOST:${sqs.port}`, `sqs.eu-west-1.localhost:${sqs.port}`]);
    await sqs.client.send(new PurgeQueueCommand({ QueueUrl: sqs.queueUrl }));
  });

  it('still serves the SDK: send, receive and peek', async () => {
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'hello' }));
    expect((await sqs.peek('queue')).map((message) => message.body)).toEqual(['hello']);
    const received = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: 1 }));
    expect(received.Messages?.map((message) => message.Body)).toEqual(['hello']);
    expect(await sqs.depth('queue')).toEqual({ ready: 0, inFlight: 1, delayed: 0 });
  });
});

describe('isLoopbackHost (shared with the web page)', () => {
  it.each<[string | undefined, boolean]>([
    ['127.0.0.1:9324', true],
    ['[::1]:9324', true],
    ['localhost:9324', true],
    ['LocalHost:9324', true],
    ['sqs.eu-west-1.localhost:9324', true],
    ['bucket.s3.localhost:9324', true],
    ['localhost:9325', false],
    ['localhost', false],
    ['127.0.0.2:9324', false],
    ['attacker.example:9324', false],
    ['localhost.attacker.example:9324', false],
    ['attackerlocalhost:9324', false],
    ['.localhost:9324', false],
    ['a..localhost:9324', false],
    ['127.0.0.1:9324:9324', false],
    ['', false],
    [undefined, false],
  ])('%s on port 9324: %s', (host, expected) => {
    expect(isLoopbackHost(host, 9324)).toBe(expected);
  });
});
