/**
 * A real HTTP proxy in front of the SQS emulator that answers chosen SQS actions itself with
 * `QueueDoesNotExist`, as SQS does once a queue is deleted, and forwards everything else: for
 * tests of what a tool leaves behind when one of its calls fails half-way.
 * @module
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running proxy. */
export interface FailingSqsProxy {
  endpoint: string;
  /** The actions (`SendMessage`, `DeleteMessageBatch`, ...) seen, in order. */
  actions: string[];
  close(): Promise<void>;
}

/**
 * Starts the proxy on 127.0.0.1, port 0. `fails(action, body)` picks the calls to refuse.
 * @example
 * const proxy = await startFailingSqsProxy(emulator.endpoint, (action) => action === 'DeleteMessageBatch');
 */
export async function startFailingSqsProxy(
  target: string,
  fails: (action: string, body: Record<string, unknown>) => boolean,
): Promise<FailingSqsProxy> {
  const actions: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const payload = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      actions.push(action);
      if (fails(action, JSON.parse(payload.toString('utf8') || '{}') as Record<string, unknown>)) {
        const out = JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' });
        res.end(out);
        return;
      }
      const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      upstream.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    actions,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
