/**
 * The local stand-in for Lambda's SQS event source mapping: `maxConcurrency` pollers, each
 * long-polling the queue for a batch (up to the batch size, within the batching window), invoking
 * its own execution environment of the function with the records, then deleting the records
 * that succeeded. Records listed in `batchItemFailures` are left alone and come back when their
 * visibility timeout ends (the handler may have changed it, for its backoff). As on Lambda, a
 * handler error, a timeout or a response naming a record that is not in the batch fails the
 * whole batch.
 * @module
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { FunctionInstance } from './FunctionInstance.js';
import type { FunctionSettings, InvocationResult } from './FunctionInstance.js';
import { sqsRecordOf } from './sqsRecord.js';

/** SQS hands out at most this many messages per ReceiveMessage. */
const MAX_RECEIVE = 10;
/** Longest long poll SQS allows. */
const LONG_POLL_SECONDS = 20;

/** What one invocation did, for the live view. */
export interface InvocationReport {
  /** Which poller (1..maxConcurrency) ran it. */
  poller: number;
  records: SQSRecord[];
  result: InvocationResult;
  /** Message ids handed back for retry: the valid `batchItemFailures`, or every record when the batch failed. */
  failed: string[];
  /** Why the whole batch failed, when it did. */
  batchFailure?: string;
  /** Message ids deleted from the queue. */
  deleted: string[];
  /** Message ids whose delete failed (they come back after the visibility timeout). */
  deleteFailed: string[];
  /** The invocation needed a new execution environment first (a cold start). */
  coldStart: boolean;
}

/** An invocation about to run, for {@link EventSourceMappingOptions.onInvocationStart}. */
export interface InvocationStart {
  /** Which poller (1..maxConcurrency) runs it. */
  poller: number;
  records: SQSRecord[];
  /**
   * Ends the execution environment running this invocation at once (its worker thread is
   * terminated), as Lambda does on a crash or a timeout: the invocation fails, no record is
   * deleted, and the records come back after their visibility timeout. Does nothing once the
   * invocation has ended.
   */
  kill(): void;
}

/** Options of {@link EventSourceMapping}. */
export interface EventSourceMappingOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  batchSize: number;
  maxConcurrency: number;
  batchingWindowSeconds: number;
  function: FunctionSettings;
  /** Told about every invocation. */
  onInvocation: (report: InvocationReport) => void;
  /** Told when an invocation starts (after a cold start, if any); the fault-injection run kills some. */
  onInvocationStart?: (start: InvocationStart) => void;
  /** Told about a poller's own trouble (SQS unreachable...); the poller waits a second and goes on. */
  onPollError?: (poller: number, error: unknown) => void;
  /** @default 20 */
  waitTimeSeconds?: number;
}

/**
 * The pollers. Start with {@link EventSourceMapping.start}, stop with {@link EventSourceMapping.stop}.
 * @example
 * const mapping = await EventSourceMapping.start({ sqs, queueUrl, queueArn, region, batchSize: 10, maxConcurrency: 2, batchingWindowSeconds: 0, function: settings, onInvocation: show });
 * // ...
 * await mapping.stop();
 */
export class EventSourceMapping {
  readonly #options: EventSourceMappingOptions;
  readonly #abort = new AbortController();
  readonly #instances: (FunctionInstance | undefined)[];
  #loops: Promise<void>[] = [];

  private constructor(options: EventSourceMappingOptions, instances: (FunctionInstance | undefined)[]) {
    this.#options = options;
    this.#instances = instances;
  }

  /**
   * Starts the first execution environment (so a function that cannot start fails here, before
   * any job is taken), then the pollers. The other pollers' environments start when they first
   * get a batch (a cold start, as on Lambda).
   * @throws {FunctionInitError} when the function fails its cold start
   */
  static async start(options: EventSourceMappingOptions): Promise<EventSourceMapping> {
    const first = await FunctionInstance.start(options.function);
    const instances: (FunctionInstance | undefined)[] = Array.from({ length: Math.max(1, options.maxConcurrency) }, (_, i) =>
      i === 0 ? first : undefined,
    );
    const mapping = new EventSourceMapping(options, instances);
    mapping.#loops = instances.map((_, index) => mapping.#poll(index));
    return mapping;
  }

  /** Cold-start log lines of the first execution environment. */
  get initLogs(): string[] {
    return this.#instances[0]?.initLogs ?? [];
  }

  /**
   * Stops polling, lets invocations under way finish for up to `graceMs`, then ends every
   * execution environment.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.#abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.#loops), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await Promise.all(this.#instances.map(async (instance) => instance?.stop()));
  }

  async #poll(index: number): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let records: SQSRecord[];
      try {
        records = await this.#receiveBatch(signal);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() aborts while the receive is awaited (TypeScript keeps the loop's narrowing)
        if (signal.aborted) return;
        this.#options.onPollError?.(index + 1, error);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (records.length === 0) continue;
      await this.#invoke(index, records);
    }
  }

  /** One batch: up to the batch size, waiting for the batching window when there is one. */
  async #receiveBatch(signal: AbortSignal): Promise<SQSRecord[]> {
    const { batchSize, batchingWindowSeconds } = this.#options;
    const records: SQSRecord[] = [];
    const windowEnds = Date.now() + batchingWindowSeconds * 1000;
    for (;;) {
      const remainingWindow = Math.max(0, Math.ceil((windowEnds - Date.now()) / 1000));
      const wait = records.length === 0 ? (this.#options.waitTimeSeconds ?? LONG_POLL_SECONDS) : remainingWindow;
      const reply = await this.#options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.#options.queueUrl,
          MaxNumberOfMessages: Math.min(MAX_RECEIVE, batchSize - records.length),
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      for (const message of reply.Messages ?? []) records.push(sqsRecordOf(message, this.#options.queueArn, this.#options.region));
      if (records.length === 0 || records.length >= batchSize || batchingWindowSeconds === 0 || Date.now() >= windowEnds) return records;
    }
  }

  async #invoke(index: number, records: SQSRecord[]): Promise<void> {
    let instance = this.#instances[index];
    let coldStart = false;
    let result: InvocationResult | undefined;
    if (instance === undefined || !instance.alive) {
      coldStart = true;
      try {
        instance = await FunctionInstance.start(this.#options.function);
        this.#instances[index] = instance;
      } catch (error) {
        instance = undefined;
        this.#instances[index] = undefined;
        const logs = (error as { logs?: string[] }).logs ?? [];
        result = { kind: 'error', error: (error as Error).message, logs };
      }
    }
    if (result === undefined && instance !== undefined) {
      const running = instance;
      let ended = false;
      this.#options.onInvocationStart?.({
        poller: index + 1,
        records,
        kill: () => {
          if (!ended) void running.stop();
        },
      });
      result = await running.invoke({ Records: records });
      ended = true;
    }
    result ??= { kind: 'error', error: 'no execution environment', logs: [] };

    const ids = new Set(records.map((record) => record.messageId));
    let failed: string[];
    let batchFailure: string | undefined;
    if (result.kind === 'response') {
      const listed = listedFailures(result.response);
      const unknown = listed.findIndex((identifier) => typeof identifier !== 'string' || !ids.has(identifier));
      if (unknown !== -1) {
        batchFailure = `batchItemFailures names ${JSON.stringify(listed[unknown] ?? null)}, which is not in the batch: the whole batch is retried`;
        failed = [...ids];
      } else {
        failed = [...new Set(listed as string[])];
      }
    } else {
      batchFailure = result.kind === 'timeout' ? `the invocation timed out after ${this.#options.function.timeoutSeconds} s` : result.error;
      failed = [...ids];
    }
    const failedSet = new Set(failed);
    const { deleted, deleteFailed } = await this.#delete(records.filter((record) => !failedSet.has(record.messageId)));
    this.#options.onInvocation({
      poller: index + 1,
      records,
      result,
      failed,
      ...(batchFailure === undefined ? {} : { batchFailure }),
      deleted,
      deleteFailed,
      coldStart,
    });
  }

  async #delete(records: SQSRecord[]): Promise<{ deleted: string[]; deleteFailed: string[] }> {
    const deleted: string[] = [];
    const deleteFailed: string[] = [];
    for (let start = 0; start < records.length; start += MAX_RECEIVE) {
      const slice = records.slice(start, start + MAX_RECEIVE);
      try {
        const reply = await this.#options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.#options.queueUrl,
            Entries: slice.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })),
          }),
        );
        const failedIds = new Set((reply.Failed ?? []).map((failure) => failure.Id));
        slice.forEach((record, i) => (failedIds.has(String(i)) ? deleteFailed : deleted).push(record.messageId));
      } catch {
        deleteFailed.push(...slice.map((record) => record.messageId));
      }
    }
    return { deleted, deleteFailed };
  }
}

/**
 * The item identifiers a function's answer lists in `batchItemFailures`. The answer is whatever
 * the function returned (Lambda checks it at run time, not by its type): anything that is not such
 * a list lists nothing, and an entry without a string `itemIdentifier` is kept as `undefined`, so
 * that the caller retries the whole batch, as Lambda does.
 */
function listedFailures(response: unknown): unknown[] {
  if (typeof response !== 'object' || response === null) return [];
  const list: unknown = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (!Array.isArray(list)) return [];
  return list.map((failure: unknown) =>
    typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined,
  );
}
