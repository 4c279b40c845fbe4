/**
 * A real HTTP proxy in front of the SQS emulator that answers chosen SQS actions itself with
 * `QueueDoesNotExist`, as SQS does once a queue is deleted, and forwards everything else: for
 * tests of what a tool leaves behind when one of its calls fails half-way.
 * @module
 */
import { forwardSqsRequest, startSqsProxyServer } from './loopbackHttp.js';

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
  const server = await startSqsProxyServer((call) => {
    actions.push(call.action);
    if (fails(call.action, JSON.parse(call.body.toString('utf8') || '{}') as Record<string, unknown>)) {
      const out = JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' });
      call.res.writeHead(400, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender',
      });
      call.res.end(out);
      return;
    }
    forwardSqsRequest(target, call);
  });
  return { ...server, actions };
}
