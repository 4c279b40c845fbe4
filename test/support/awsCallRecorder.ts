/**
 * An HTTP proxy on 127.0.0.1 in front of a local AWS emulator (the SQS emulator, dynalite) that
 * records every call made through it: the action (from the JSON protocol's `X-Amz-Target` header,
 * e.g. `UpdateItem`, `ReceiveMessage`), when it started and ended, its HTTP status, and the request
 * body for whoever wants to look inside (the job id of an `UpdateItem`). The SDK's
 * `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_DYNAMODB` point here instead of at the emulator. Used
 * by the benchmark (calls and round trips per batch, for the cost table) and the fault-injection
 * run (when the ledger recorded a delivery).
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call that went through the proxy. */
export interface RecordedCall {
  /** The action, without the service prefix (`UpdateItem`, `ReceiveMessage`); `unknown` for S3's REST calls (see `method` and `path`). */
  action: string;
  /** The HTTP method (`HEAD` for S3's HeadObject) and the request path (S3: `/bucket/key` with path-style addressing). */
  method: string;
  path: string;
  /** `Date.now()` when the request arrived and when its answer was sent. */
  start: number;
  end: number;
  status: number;
  /** The request body (JSON). */
  body: string;
}

/** A running recorder. */
export interface AwsCallRecorder {
  /** Endpoint to give the SDK (`http://127.0.0.1:<port>`). */
  readonly endpoint: string;
  /** Every call so far, in the order they ended. */
  readonly calls: RecordedCall[];
  /** Latency added to every call before it is forwarded (a region's round trip), milliseconds; 0 by default. */
  delayMs: number;
  /** Hook to fail a call before it reaches the emulator: return an error answer, or undefined to forward it. */
  intercept?: (action: string, body: string) => { status: number; type: string; message: string } | undefined;
  /** Forgets the calls recorded so far. */
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Starts a recorder on 127.0.0.1, port 0, forwarding to `target` (the emulator's endpoint).
 * @example
 * const dynamo = await startAwsCallRecorder(dynalite.endpoint);
 * environment.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
 * // ... later
 * dynamo.calls.filter((call) => call.action === 'UpdateItem').length;
 */
export async function startAwsCallRecorder(target: string): Promise<AwsCallRecorder> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const recorder: AwsCallRecorder = {
    endpoint: '',
    calls: [],
    delayMs: 0,
    reset: () => void recorder.calls.splice(0),
    stop: () => Promise.resolve(),
  };
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const server = http.createServer((request, response) => {
    const start = Date.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const action = String(request.headers['x-amz-target'] ?? 'unknown').replace(/^[^.]*\./, '');
      const method = request.method ?? 'GET';
      const path = request.url ?? '/';
      const failure = recorder.intercept?.(action, text);
      if (failure !== undefined) {
        const payload = JSON.stringify({ __type: failure.type, message: failure.message });
        response.writeHead(failure.status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(payload) });
        response.end(payload);
        recorder.calls.push({ action, method, path, start, end: Date.now(), status: failure.status, body: text });
        return;
      }
      const forward = (): void => {
        if (stopped) {
          response.destroy();
          return;
        }
        let done: () => void = () => undefined;
        const finished = new Promise<void>((resolve) => (done = resolve));
        inFlight.add(finished);
        void finished.then(() => inFlight.delete(finished));
        const outgoing = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: request.method,
            path: request.url,
            headers: { ...request.headers, host: upstream.host },
            agent,
          },
          (reply) => {
            response.writeHead(reply.statusCode ?? 502, reply.headers);
            reply.pipe(response);
            reply.on('end', () => {
              recorder.calls.push({ action, method, path, start, end: Date.now(), status: reply.statusCode ?? 502, body: text });
              done();
            });
          },
        );
        outgoing.on('error', () => {
          done();
          if (!response.headersSent) response.writeHead(502);
          response.end();
        });
        outgoing.end(body);
      };
      if (recorder.delayMs > 0) setTimeout(forward, recorder.delayMs);
      else forward();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return Object.assign(recorder, {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // Takes no more calls, and lets those already forwarded finish (up to a second), so the emulator
    // behind it can be stopped next without a late call reaching it closed.
    stop: async () => {
      stopped = true;
      await Promise.race([Promise.all(inFlight), new Promise((resolve) => setTimeout(resolve, 1000))]);
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
