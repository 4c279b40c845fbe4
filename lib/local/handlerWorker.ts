/**
 * One local "execution environment" of the send-mail function, run in a worker thread: it
 * imports the bundle once (the cold start, with the environment the function would have), then
 * runs one invocation at a time with a Lambda-like context whose remaining time counts down from
 * the function timeout. What the handler writes to stdout/stderr (Powertools' JSON log lines and
 * EMF metrics, which Lambda would send to CloudWatch) is captured and returned with the result.
 *
 * Messages: parent → worker {@link InvokeRequest}; worker → parent {@link WorkerReply}.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** What the worker is started with. */
export interface HandlerWorkerData {
  bundleFile: string;
  handlerName: string;
  functionName: string;
  region: string;
  memoryLimitInMB: number;
}

/** One invocation. */
export interface InvokeRequest {
  type: 'invoke';
  id: number;
  event: SQSEvent;
  /** Epoch milliseconds when the invocation times out. */
  deadline: number;
}

/** What the worker says. */
export type WorkerReply =
  | { type: 'ready'; logs: string[] }
  | { type: 'initError'; error: string; logs: string[] }
  | { type: 'result'; id: number; response?: SQSBatchResponse; error?: string; logs: string[] };

type LambdaHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const data = workerData as HandlerWorkerData;
if (parentPort === null) throw new Error('handlerWorker runs only as a worker thread');
const port = parentPort;
let captured: string[] = [];
let partial = '';

/** Everything written to stdout or stderr goes into `captured`, line by line. */
function capture(chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean {
  partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const lines = partial.split('\n');
  partial = lines.pop() ?? '';
  captured.push(...lines.filter((line) => line !== ''));
  const done = typeof encoding === 'function' ? encoding : callback;
  if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
  return true;
}
process.stdout.write = capture;
process.stderr.write = capture;

function takeLogs(): string[] {
  if (partial !== '') {
    captured.push(partial);
    partial = '';
  }
  const logs = captured;
  captured = [];
  return logs;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function contextFor(deadline: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${data.region}:000000000000:function:${data.functionName}`,
    memoryLimitInMB: String(data.memoryLimitInMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the Context type; nothing calls it
    done: () => undefined,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the Context type; nothing calls it
    fail: () => undefined,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the Context type; nothing calls it
    succeed: () => undefined,
  };
}

let handler: LambdaHandler;
try {
  process.setSourceMapsEnabled(true);
  const module = (await import(pathToFileURL(data.bundleFile).href)) as Record<string, unknown>;
  const exported = module[data.handlerName];
  if (typeof exported !== 'function') throw new TypeError(`the bundle exports no function "${data.handlerName}"`);
  handler = exported as LambdaHandler;
  port.postMessage({ type: 'ready', logs: takeLogs() } satisfies WorkerReply);
} catch (error) {
  port.postMessage({ type: 'initError', error: describe(error), logs: takeLogs() } satisfies WorkerReply);
  port.close();
}

port.on('message', (request: InvokeRequest) => {
  void (async () => {
    try {
      const response = await handler(request.event, contextFor(request.deadline));
      port.postMessage({ type: 'result', id: request.id, response, logs: takeLogs() } satisfies WorkerReply);
    } catch (error) {
      port.postMessage({ type: 'result', id: request.id, error: describe(error), logs: takeLogs() } satisfies WorkerReply);
    }
  })();
});
