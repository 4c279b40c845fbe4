/**
 * A slow SQS for tests: a real HTTP proxy on 127.0.0.1 in front of the SQS emulator that holds
 * every request for a while before forwarding it. A request whose client gave up in the meantime
 * (an aborted call) is never forwarded, as with a request lost on the way: what reaches the
 * emulator is exactly what the client still waited for.
 * @module
 */
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the proxy saw. */
export interface SlowSqsCall {
  /** The SQS action, e.g. `SendMessage`, `ChangeMessageVisibilityBatch`. */
  action: string;
  /** Forwarded to the emulator (false: the client gave up before the delay was over). */
  forwarded: boolean;
}

/** A running slow SQS. */
export interface SlowSqs {
  /** The endpoint to give the SQS client (`AWS_ENDPOINT_URL_SQS`). */
  endpoint: string;
  calls: SlowSqsCall[];
  /** Stops listening and forgets the requests still held. */
  stop(): Promise<void>;
}

/**
 * Starts the proxy.
 * @param target the emulator's endpoint
 * @param latencyMs how long each request is held before it is forwarded (`Infinity`: never answered)
 * @example
 * const slow = await startSlowSqs(emulator.endpoint, 3000);
 * process.env['AWS_ENDPOINT_URL_SQS'] = slow.endpoint;
 */
export async function startSlowSqs(target: string, latencyMs: number): Promise<SlowSqs> {
  const calls: SlowSqsCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call: SlowSqsCall = { action: String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, ''), forwarded: false };
      calls.push(call);
      let gone = false;
      res.on('close', () => {
        if (!res.writableFinished) gone = true;
      });
      if (!Number.isFinite(latencyMs)) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (gone) return;
        call.forwarded = true;
        const payload = Buffer.concat(chunks);
        const headers: IncomingHttpHeaders = { ...req.headers, host: new URL(target).host, 'content-length': String(payload.length) };
        const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', (error) => {
          res.writeHead(502);
          res.end(String(error));
        });
        upstream.end(payload);
      }, latencyMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
