/**
 * The parent's side of one local execution environment of the send-mail function (a worker
 * thread running handlerWorker.ts): start it (the cold start), invoke it one batch at a time,
 * and end it when an invocation runs past the function timeout, as Lambda does.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { HandlerBundle } from './buildHandlerBundle.js';
import type { HandlerWorkerData, InvokeRequest, WorkerReply } from './handlerWorker.js';

/** What an invocation came to. */
export type InvocationResult =
  | { kind: 'response'; response: SQSBatchResponse; logs: string[] }
  /** The handler threw (or its promise rejected): Lambda reports an invocation error. */
  | { kind: 'error'; error: string; logs: string[] }
  /** It ran past the function timeout; the environment is gone. */
  | { kind: 'timeout'; logs: string[] };

/** The function's configuration. */
export interface FunctionSettings {
  bundle: HandlerBundle;
  /** The function's environment variables (its whole environment, as on Lambda). */
  environment: Record<string, string>;
  functionName: string;
  region: string;
  memoryLimitInMB: number;
  timeoutSeconds: number;
}

/** The function failed its cold start (for example a configuration error). */
export class FunctionInitError extends Error {
  readonly logs: string[];
  constructor(message: string, logs: string[]) {
    super(`the send-mail function failed to start: ${message}`);
    this.name = 'FunctionInitError';
    this.logs = logs;
  }
}

const WORKER_URL = new URL(`./handlerWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * One execution environment.
 * @example
 * const instance = await FunctionInstance.start(settings);
 * const result = await instance.invoke({ Records: records });
 * await instance.stop();
 */
export class FunctionInstance {
  readonly #worker: Worker;
  readonly #settings: FunctionSettings;
  #next = 0;
  #pending = new Map<number, (reply: Extract<WorkerReply, { type: 'result' }>) => void>();
  #gone = false;
  /** Log lines of the cold start. */
  readonly initLogs: string[];

  private constructor(worker: Worker, settings: FunctionSettings, initLogs: string[]) {
    this.#worker = worker;
    this.#settings = settings;
    this.initLogs = initLogs;
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result') return;
      const settle = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      settle?.(reply);
    });
    worker.on('exit', () => {
      this.#gone = true;
      for (const [id, settle] of this.#pending) settle({ type: 'result', id, error: 'the execution environment ended', logs: [] });
      this.#pending.clear();
    });
  }

  /**
   * Starts an environment: imports the bundle with the function's environment.
   * @throws {FunctionInitError} when the bundle fails to import (its module-level code threw)
   */
  static start(settings: FunctionSettings): Promise<FunctionInstance> {
    const data: HandlerWorkerData = {
      bundleFile: settings.bundle.file,
      handlerName: settings.bundle.handler,
      functionName: settings.functionName,
      region: settings.region,
      memoryLimitInMB: settings.memoryLimitInMB,
    };
    const worker = new Worker(WORKER_URL, { workerData: data, env: { ...settings.environment }, stdout: false, stderr: false });
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new FunctionInitError(`the execution environment exited with code ${code}`, []));
      const onError = (error: Error): void => reject(new FunctionInitError(error.message, []));
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        if (reply.type === 'ready') {
          resolve(new FunctionInstance(worker, settings, reply.logs));
        } else {
          void worker.terminate();
          reject(new FunctionInitError(reply.type === 'initError' ? reply.error : 'unexpected first message', reply.logs));
        }
      });
    });
  }

  /** False once the environment has ended (after a timeout or {@link stop}). */
  get alive(): boolean {
    return !this.#gone;
  }

  /**
   * Runs the handler on `event` with the function timeout. Never rejects: a thrown handler and a
   * timeout are results. After a timeout the environment is ended; start a new one.
   */
  invoke(event: SQSEvent): Promise<InvocationResult> {
    const id = (this.#next += 1);
    const timeoutMs = this.#settings.timeoutSeconds * 1000;
    const request: InvokeRequest = { type: 'invoke', id, event, deadline: Date.now() + timeoutMs };
    return new Promise((resolve) => {
      if (this.#gone) {
        resolve({ kind: 'error', error: 'the execution environment has ended', logs: [] });
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ kind: 'timeout', logs: [] });
        void this.stop();
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error !== undefined) resolve({ kind: 'error', error: reply.error, logs: reply.logs });
        else resolve({ kind: 'response', response: reply.response ?? { batchItemFailures: [] }, logs: reply.logs });
      });
      this.#worker.postMessage(request);
    });
  }

  /** Ends the environment at once. */
  async stop(): Promise<void> {
    this.#gone = true;
    await this.#worker.terminate();
  }
}
