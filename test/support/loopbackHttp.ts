/**
 * HTTP servers on 127.0.0.1 (port 0) for the tests' stand-ins and proxies, and what the SQS proxies
 * share: reading each SQS request whole and naming its action, and forwarding a request to the
 * emulator (its answer passed through as it came, or rewritten). Each proxy keeps only its own
 * decision: what to record, refuse, hold back or change.
 * @module
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One SQS request as a proxy received it, read whole, and the response to answer it with. */
export interface SqsRequest {
  /** The SQS action (`SendMessageBatch`, `DeleteMessage`, ...), from the `x-amz-target` header. */
  action: string;
  /** The request's body as received (SQS's JSON protocol). */
  body: Buffer;
  req: IncomingMessage;
  res: ServerResponse;
}

/** A running server on 127.0.0.1. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Drops the open connections and stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1, port 0.
 * @example
 * const { endpoint, close } = await listenOnLoopback(createServer(handler));
 */
export async function listenOnLoopback(server: Server): Promise<LoopbackServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Starts a server on 127.0.0.1 that reads each request whole and hands it to `handle`, which
 * answers it (or forwards it with {@link forwardSqsRequest}).
 * @example
 * const proxy = await startSqsProxyServer((call) => forwardSqsRequest(emulator.endpoint, call));
 */
export function startSqsProxyServer(handle: (call: SqsRequest) => void): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      handle({ action, body: Buffer.concat(chunks), req, res });
    });
  });
  return listenOnLoopback(server);
}

/** Options of {@link forwardSqsRequest}. */
export interface ForwardOptions {
  /** What to send instead of the body received. */
  body?: Buffer;
  /** The request's headers to send. @default the headers received */
  headers?: IncomingHttpHeaders;
  /**
   * Rewrites the emulator's answer: it is then read whole and sent with its own length (without the
   * emulator's `content-length` and `transfer-encoding`). Without it, the answer is piped through.
   */
  rewrite?: (answer: Buffer, statusCode: number) => Buffer;
}

/** Forwards a request to `target` (the emulator) and answers it with what the emulator answers; 502 when the emulator cannot be reached. */
export function forwardSqsRequest(target: string, call: SqsRequest, options: ForwardOptions = {}): void {
  const { req, res } = call;
  const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: options.headers ?? req.headers }, (answer) => {
    const statusCode = answer.statusCode ?? 502;
    const { rewrite } = options;
    if (rewrite === undefined) {
      res.writeHead(statusCode, answer.headers);
      answer.pipe(res);
      return;
    }
    const parts: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => parts.push(chunk));
    answer.on('end', () => {
      const out = rewrite(Buffer.concat(parts), statusCode);
      const { 'content-length': _length, 'transfer-encoding': _encoding, ...headers } = answer.headers;
      res.writeHead(statusCode, { ...headers, 'content-length': String(out.length) });
      res.end(out);
    });
  });
  upstream.on('error', (error) => {
    res.writeHead(502);
    res.end(String(error));
  });
  upstream.end(options.body ?? call.body);
}
