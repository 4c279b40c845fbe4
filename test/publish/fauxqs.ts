/**
 * The fauxqs SQS emulator for the producer's tests, on 127.0.0.1 and a free port, and a
 * recording proxy in front of it that can make SQS fail chosen batch entries on its side.
 */
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { IncomingHttpHeaders } from 'node:http';
import { forwardSqsRequest, startSqsProxyServer } from '../support/loopbackHttp.js';

export interface Fauxqs {
  endpoint: string;
  client: SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** Receives and deletes everything in the queue, in the order SQS hands it out. */
  drain(queueUrl: string): Promise<Message[]>;
  close(): Promise<void>;
}

/** Dummy credentials: fauxqs does not check them, the SDK wants some. */
export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials });
}

export async function startFauxqs(): Promise<Fauxqs> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = sqsClient(endpoint);
  let counter = 0;
  return {
    endpoint,
    client,
    async createQueue(name, attributes = {}) {
      counter += 1;
      const fifo = name.endsWith('.fifo');
      const unique = fifo ? `${name.slice(0, -5)}-${counter}.fifo` : `${name}-${counter}`;
      const out = await client.send(
        new CreateQueueCommand({ QueueName: unique, Attributes: { ...(fifo ? { FifoQueue: 'true' } : {}), ...attributes } }),
      );
      return out.QueueUrl!;
    },
    async drain(queueUrl) {
      const all: Message[] = [];
      for (;;) {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 300,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) return all;
        all.push(...Messages);
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    },
    async close() {
      client.destroy();
      await app.close();
    },
  };
}

/** One SQS call the proxy saw, as the client sent it: its action (`SendMessageBatch`, ...) and JSON request body. */
export interface RecordedCall {
  action: string;
  body: Record<string, unknown>;
}

/** Decides, per SendMessageBatch call, which entry Ids SQS should fail on its side (SenderFault false). */
export type FaultPlan = (call: number, entryIds: string[]) => string[];

export interface SqsProxy {
  endpoint: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

/**
 * A real HTTP proxy to fauxqs that records each call. With a `faults` plan, it takes the chosen
 * entries out of a SendMessageBatch before forwarding it and answers for them with
 * `SenderFault: false, Code: InternalError`, as SQS does when it fails an entry on its side.
 */
export async function startSqsProxy(target: string, faults: FaultPlan = () => []): Promise<SqsProxy> {
  const calls: RecordedCall[] = [];
  let batchCalls = 0;
  const server = await startSqsProxyServer((call) => {
    const { action, req, res } = call;
    const body = JSON.parse(call.body.toString('utf8') || '{}') as Record<string, unknown>;
    calls.push({ action, body: structuredClone(body) });
    let failing: string[] = [];
    if (action === 'SendMessageBatch') {
      batchCalls += 1;
      const entries = body.Entries as { Id: string }[];
      failing = faults(
        batchCalls,
        entries.map((e) => e.Id),
      );
      body.Entries = entries.filter((e) => !failing.includes(e.Id));
    }
    const injected = failing.map((Id) => ({ Id, SenderFault: false, Code: 'InternalError', Message: 'injected: try again' }));
    if (failing.length > 0 && (body.Entries as unknown[]).length === 0) {
      const out = Buffer.from(JSON.stringify({ Successful: [], Failed: injected }));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(out.length) });
      res.end(out);
      return;
    }
    const payload = Buffer.from(JSON.stringify(body));
    const headers: IncomingHttpHeaders = { ...req.headers, 'content-length': String(payload.length) };
    forwardSqsRequest(target, call, {
      body: payload,
      headers,
      rewrite: (out, statusCode) => {
        if (failing.length === 0 || statusCode !== 200) return out;
        const answer = JSON.parse(out.toString('utf8')) as { Failed?: unknown[] };
        answer.Failed = [...(answer.Failed ?? []), ...injected];
        return Buffer.from(JSON.stringify(answer));
      },
    });
  });
  return { ...server, calls };
}
