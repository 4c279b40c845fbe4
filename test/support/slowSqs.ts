/**
 * A slow SQS for tests: a real HTTP proxy on 127.0.0.1 in front of the SQS emulator that holds
 * every request for a while before forwarding it. A request whose client gave up in the meantime
 * (an aborted call) is never forwarded, as with a request lost on the way: what reaches the
 * emulator is exactly what the client still waited for. It keeps every request's body, and can
 * refuse entries of a batch request the way SQS does (a per-entry failure in the answer), for a
 * rule of real SQS the emulator does not enforce.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import { forwardSqsRequest, startSqsProxyServer } from './loopbackHttp.js';

/** One call the proxy saw. */
export interface SlowSqsCall {
  /** The SQS action, e.g. `SendMessage`, `ChangeMessageVisibilityBatch`. */
  action: string;
  /** Forwarded to the emulator (false: the client gave up before the delay was over). */
  forwarded: boolean;
  /** The request's body (SQS's JSON protocol). */
  body: string;
}

/** A per-entry failure of a batch request, as SQS reports it in `Failed`. */
export interface EntryRefusal {
  code: string;
  message: string;
}

/** Options of {@link startSlowSqs}. */
export interface SlowSqsOptions {
  /**
   * Refuses an entry of a batch request (one of its `Entries`): the entry is left out of what is
   * forwarded and reported in the answer's `Failed`, as SQS does; `undefined` lets it through.
   */
  refuseEntry?: (action: string, entry: Record<string, unknown>) => EntryRefusal | undefined;
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
export async function startSlowSqs(target: string, latencyMs: number, options: SlowSqsOptions = {}): Promise<SlowSqs> {
  const calls: SlowSqsCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = await startSqsProxyServer((received) => {
    const { req, res } = received;
    const call: SlowSqsCall = { action: received.action, forwarded: false, body: received.body.toString('utf8') };
    calls.push(call);
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) gone = true;
    });
    if (!Number.isFinite(latencyMs)) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (gone) return;
      const { payload, failed } = refuseEntries(call, received.body, options.refuseEntry);
      if (failed.length > 0 && payload === undefined) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ Successful: [], Failed: failed }));
        return;
      }
      call.forwarded = true;
      const forwarded = payload ?? received.body;
      const headers: IncomingHttpHeaders = { ...req.headers, host: new URL(target).host, 'content-length': String(forwarded.length) };
      forwardSqsRequest(target, received, {
        body: forwarded,
        headers,
        rewrite:
          failed.length === 0
            ? undefined
            : (answer) => {
                const reply = JSON.parse(answer.toString('utf8')) as { Failed?: unknown[] };
                return Buffer.from(JSON.stringify({ ...reply, Failed: [...(reply.Failed ?? []), ...failed] }));
              },
      });
    }, latencyMs);
    timers.add(timer);
  });
  return {
    endpoint: server.endpoint,
    calls,
    stop: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return server.close();
    },
  };
}

/**
 * Splits a batch request by `refuse`: the entries refused (as SQS's `Failed`) and the request to
 * forward with the others (`undefined` when none is left, or when nothing was refused).
 */
function refuseEntries(call: SlowSqsCall, body: Buffer, refuse: SlowSqsOptions['refuseEntry']): { payload?: Buffer; failed: object[] } {
  if (refuse === undefined || body.length === 0) return { payload: body, failed: [] };
  const request = JSON.parse(body.toString('utf8')) as { Entries?: Record<string, unknown>[] };
  if (!Array.isArray(request.Entries)) return { payload: body, failed: [] };
  const failed: object[] = [];
  const kept = request.Entries.filter((entry) => {
    const refusal = refuse(call.action, entry);
    if (refusal !== undefined) failed.push({ Id: entry['Id'], SenderFault: true, Code: refusal.code, Message: refusal.message });
    return refusal === undefined;
  });
  if (failed.length === 0) return { payload: body, failed };
  return kept.length === 0 ? { failed } : { payload: Buffer.from(JSON.stringify({ ...request, Entries: kept })), failed };
}
