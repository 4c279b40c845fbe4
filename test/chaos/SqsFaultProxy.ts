/**
 * An HTTP proxy in front of the SQS emulator for the function's own SQS calls (its
 * `AWS_ENDPOINT_URL_SQS` points here): some requests are answered `500 InternalError` or
 * `400 ThrottlingException` in the SQS JSON protocol's error shape (the SDK reads the code from
 * `__type` and `x-amzn-query-error`) without reaching the emulator, and some are forwarded late
 * (a slow SQS). The event source mapping talks to the emulator directly, as Lambda's does.
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultLog } from './FaultLog.js';
import type { SeededRandom } from './random.js';

/** The proxy's fault rates (chances per request) and the slow range. */
export interface SqsProxyFaults {
  error500: number;
  throttle: number;
  slow: number;
  /** Added latency of a slow request, milliseconds. */
  slowMs: [number, number];
  /**
   * Brownouts: time is cut into windows of `windowMs`; a window is slow with chance `chance`,
   * and then every request in it is slow (several slow calls in a row, as when SQS is degraded).
   */
  brownout: { windowMs: number; chance: number };
  /**
   * Chance that a re-enqueue (the function's SendMessage of a job to the mail queue, not to the DLQ)
   * fails with a `500`, on top of `error500`: the whole job then comes back (issue 9's "failed re-enqueue").
   */
  requeueFail?: number;
}

/** A SendMessage of a mail job that the emulator took (a re-enqueue or a dead-letter copy). */
export interface SentJob {
  t: number;
  jobId: string;
  queueUrl: string;
}

/** The running proxy. */
export interface SqsFaultProxy {
  endpoint: string;
  /** Every mail job the function sent that the emulator took, in order. */
  sent: SentJob[];
  stop(): Promise<void>;
}

const FAULTS = {
  sqs500: {
    status: 500,
    type: 'com.amazonaws.sqs#InternalError',
    code: 'InternalError;Receiver',
    message: 'chaos: we encountered an internal error',
  },
  sqsThrottle: { status: 400, type: 'com.amazonaws.sqs#ThrottlingException', code: 'ThrottlingException;Sender', message: 'chaos: Rate exceeded' },
} as const;

/**
 * Starts the proxy on 127.0.0.1, port 0, forwarding to the emulator at `target`.
 * @example
 * const proxy = await startSqsFaultProxy(sqs.endpoint, faults, SeededRandom.fork(seed, 'sqs'), log);
 * environment.AWS_ENDPOINT_URL_SQS = proxy.endpoint;
 */
export async function startSqsFaultProxy(target: string, faults: SqsProxyFaults, random: SeededRandom, log: FaultLog): Promise<SqsFaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const sent: SentJob[] = [];
  const started = Date.now();
  const slowWindows = new Map<number, boolean>();
  const inBrownout = (): boolean => {
    const window = Math.floor((Date.now() - started) / faults.brownout.windowMs);
    for (let k = slowWindows.size; k <= window; k += 1) slowWindows.set(k, random.chance(faults.brownout.chance));
    return slowWindows.get(window) === true;
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(request.headers['x-amz-target'] ?? 'unknown').replace(/^AmazonSQS\./, '');
      const job = jobOf(body);
      const what = `${action}${job === undefined ? '' : ` job ${job.jobId}`}`;
      const roll = random.next();
      const requeue = action === 'SendMessage' && job !== undefined && !/-dlq(\.fifo)?$/.test(job.queueUrl);
      const requeueFails = requeue && faults.requeueFail !== undefined && random.chance(faults.requeueFail);
      const fault =
        roll < faults.error500 ? 'sqs500' : roll < faults.error500 + faults.throttle ? 'sqsThrottle' : requeueFails ? 'sqs500' : undefined;
      if (fault !== undefined) {
        log.add(requeueFails && roll >= faults.error500 + faults.throttle ? 'requeueFail' : fault, what);
        const shape = FAULTS[fault];
        const payload = JSON.stringify({ __type: shape.type, message: shape.message });
        response.writeHead(shape.status, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-query-error': shape.code,
          'content-length': Buffer.byteLength(payload),
        });
        response.end(payload);
        return;
      }
      const delay = inBrownout() || random.chance(faults.slow) ? random.int(...faults.slowMs) : 0;
      if (delay > 0) log.add('sqsSlow', `${what} +${delay} ms`);
      setTimeout(() => {
        const headers = { ...request.headers, host: upstream.host };
        const outgoing = http.request(
          { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers, agent },
          (reply) => {
            if (reply.statusCode === 200 && job !== undefined && action === 'SendMessage') sent.push({ t: Date.now(), ...job });
            response.writeHead(reply.statusCode ?? 502, reply.headers);
            reply.pipe(response);
          },
        );
        outgoing.on('error', () => {
          if (!response.headersSent) response.writeHead(502);
          response.end();
        });
        outgoing.end(body);
      }, delay);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The job id and queue of a SendMessage carrying a mail job. */
function jobOf(body: Buffer): { jobId: string; queueUrl: string } | undefined {
  try {
    const request = JSON.parse(body.toString('utf8')) as { MessageBody?: unknown; QueueUrl?: unknown };
    if (typeof request.MessageBody !== 'string' || typeof request.QueueUrl !== 'string') return undefined;
    const id = (JSON.parse(request.MessageBody) as { id?: unknown }).id;
    return typeof id === 'string' ? { jobId: id, queueUrl: request.QueueUrl } : undefined;
  } catch {
    return undefined;
  }
}
