/**
 * One fault-injection run on one queue: the SQS emulator (with the stack's redrive to a DLQ), the
 * relay and the two fault proxies, the real send-mail bundle invoked by the local event source
 * stand-in (worker threads, some killed mid-batch), the jobs published, then wait until the queue
 * is empty (or the time is up), and account for every (job, recipient).
 * @module
 */
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { EventSourceMapping } from '../../lib/local/EventSourceMapping.js';
import type { InvocationReport, InvocationStart } from '../../lib/local/EventSourceMapping.js';
import type { HandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import { LOCAL_CREDENTIALS, startLocalSqs } from '../../lib/local/LocalSqs.js';
import type { PipelineSettings } from '../../lib/local/pipelineSettings.js';
import { account } from './accounting.js';
import type { ChaosTable, InvocationTrace } from './accounting.js';
import { ledgerEvidence, startChaosLedger } from './chaosLedger.js';
import { makeJobs, publishJobs } from './chaosJobs.js';
import { CHAOS_DOMAIN, startChaosRelay } from './chaosRelay.js';
import type { RelayFaults } from './chaosRelay.js';
import { FaultLog } from './FaultLog.js';
import { jobIdsOf, ledgerLineOf, parseLine } from './handlerLines.js';
import { SeededRandom } from './random.js';
import { startSmtpFaultProxy } from './SmtpFaultProxy.js';
import type { SmtpProxyFaults } from './SmtpFaultProxy.js';
import { startSqsFaultProxy } from './SqsFaultProxy.js';
import type { SqsProxyFaults } from './SqsFaultProxy.js';

/** The fault plan's rates. */
export interface FaultRates {
  smtp: SmtpProxyFaults;
  relay: RelayFaults;
  sqs: SqsProxyFaults;
  /** Chance that an invocation is killed, and when (ms after it started). */
  kill: number;
  killWithinMs: [number, number];
  /**
   * Chance, per copy whose final reply reached the function, that the invocation is killed then
   * (after the relay said 250, before the batch answered), and how long after the reply (ms).
   */
  killAfterDelivery: number;
  killAfterDeliveryMs: [number, number];
  /**
   * Chance, per invocation, that one of its records is made visible again while it works (SQS
   * handing a message out twice, as when the visibility timeout ends early), and when (ms after it started).
   */
  redelivery: number;
  redeliveryAfterMs: [number, number];
  /** Chance that the producer publishes a job twice. */
  doublePublish: number;
  /** Chance that a call to the delivery ledger fails (`500`). */
  ledgerError: number;
}

/** The default plan: every fault kind, often enough to matter, rare enough that most jobs get through in a few receives. */
export const DEFAULT_RATES: FaultRates = {
  smtp: {
    dropClientToServer: 0.04,
    dropServerToClient: 0.03,
    dropAfterDot: 0.05,
    stall: 0.03,
    stallAfterDot: 0.05,
    stallMs: [2000, 15_000],
    spanBytes: 3000,
  },
  relay: { rcpt450: 0.03, later450: 0.5, smtp421: 0.04, rcptLimit: 0.05 },
  sqs: { error500: 0.03, throttle: 0.03, slow: 0.03, slowMs: [500, 3000], brownout: { windowMs: 5000, chance: 0.3 }, requeueFail: 0.15 },
  kill: 0.05,
  killWithinMs: [0, 250],
  killAfterDelivery: 0.04,
  killAfterDeliveryMs: [0, 30],
  redelivery: 0.15,
  redeliveryAfterMs: [20, 400],
  doublePublish: 0.03,
  ledgerError: 0.01,
};

/** The pipeline, with time compressed. */
export interface ChaosPipeline {
  /** Event source maximum concurrency. @default 4 */
  pollers: number;
  /** Batch size = MAIL_PER_CONNECTION. @default 10 */
  batchSize: number;
  /** Function timeout. @default 10 */
  timeoutSeconds: number;
  /**
   * Queue visibility timeout. It must outlast a cold start plus the function timeout, or a record
   * whose invocation ran long comes back while it is still being handled (a duplicate the stack
   * prevents with 6 × the timeout). @default 20
   */
  visibilitySeconds: number;
  /** The stack's default. @default 5 */
  maxReceiveCount: number;
  /** BACKOFF_SCALE. @default 0.02 */
  backoffScale: number;
  /** Stop waiting for the queue to empty after this long. */
  settleSeconds: number;
}

/** The default pipeline (time compressed about fifty times). */
export const DEFAULT_PIPELINE: ChaosPipeline = {
  pollers: 4,
  batchSize: 10,
  timeoutSeconds: 10,
  visibilitySeconds: 20,
  maxReceiveCount: 5,
  backoffScale: 0.02,
  settleSeconds: 240,
};

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  queue: 'standard' | 'fifo';
  jobs: number;
  seed: number;
  bundle: HandlerBundle;
  rates?: FaultRates;
  pipeline?: Partial<ChaosPipeline>;
  /** Run with the delivery ledger (dynalite). @default true */
  ledger?: boolean;
  /** Told of progress, now and then. */
  progress?: (line: string) => void;
}

/** The table, and the fault log for whoever wants the detail. */
export interface ChaosResult {
  table: ChaosTable;
  faults: FaultLog;
}

const REGION = 'eu-west-1';

/**
 * Runs one queue's fault-injection run and accounts for it.
 * @example
 * const { table } = await runChaos({ queue: 'fifo', jobs: 300, seed: 42, bundle });
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const rates = options.rates ?? DEFAULT_RATES;
  const pipeline = { ...DEFAULT_PIPELINE, ...options.pipeline };
  const fifo = options.queue === 'fifo';
  const log = new FaultLog();
  const fork = (label: string): SeededRandom => SeededRandom.fork(options.seed, `${options.queue}:${label}`);
  const stops: (() => Promise<unknown>)[] = [];
  const started = Date.now();
  try {
    const settings: PipelineSettings = {
      environment: 'chaos',
      region: REGION,
      batchSize: pipeline.batchSize,
      maxConcurrency: pipeline.pollers,
      memorySize: 256,
      timeoutSeconds: pipeline.timeoutSeconds,
      batchingWindowSeconds: 0,
      visibilityTimeoutSeconds: pipeline.visibilitySeconds,
      maxReceiveCount: pipeline.maxReceiveCount,
      fifo,
    };
    const sqs = await startLocalSqs(0, settings);
    stops.push(() => sqs.stop());
    const sqsProxy = await startSqsFaultProxy(sqs.endpoint, rates.sqs, fork('sqs'), log);
    stops.push(() => sqsProxy.stop());
    let connOf: (port: number) => string | undefined = () => undefined;
    const relay = await startChaosRelay(rates.relay, fork('relay'), log, (port) => connOf(port));
    stops.push(() => relay.stop());
    const smtpProxy = await startSmtpFaultProxy(relay.port, rates.smtp, fork('smtp'), log);
    connOf = (port) => smtpProxy.connOf(port);
    stops.push(() => smtpProxy.stop());

    const ledger = (options.ledger ?? true) ? await startChaosLedger(REGION, rates.ledgerError, fork('ledger'), log) : undefined;
    if (ledger !== undefined) stops.push(() => ledger.stop());

    const jobs = makeJobs(fifo ? 'fifo' : 'std', options.jobs, fork('jobs'), fifo ? Math.max(1, Math.ceil(options.jobs / 4)) : undefined);
    const environment: Record<string, string> = {
      SMTP_URL: `smtp://127.0.0.1:${smtpProxy.port}?security=none&from=${encodeURIComponent(`sender@${CHAOS_DOMAIN}`)}`,
      MAIL_PER_CONNECTION: String(pipeline.batchSize),
      QUEUE_URL: sqs.queueUrl,
      DLQ_URL: sqs.dlqUrl,
      BACKOFF_SCALE: String(pipeline.backoffScale),
      AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'send-mail-chaos',
      POWERTOOLS_METRICS_NAMESPACE: 'OutboundMailChaos',
      POWERTOOLS_METRICS_DISABLED: 'true',
      TZ: 'UTC',
      ...ledger?.environment,
    };

    const invocations: InvocationTrace[] = [];
    interface Running {
      trace: InvocationTrace;
      kill: () => void;
      killFiredAt?: number;
      killKind?: 'kill' | 'killAfterDelivery';
    }
    const running = new Map<number, Running>();
    const killRandom = fork('kill');
    const killAfterDeliveryRandom = fork('killAfterDelivery');
    const redeliveryRandom = fork('redelivery');
    const redelivered = new Set<string>();
    const fire = (entry: Running, kind: Running['killKind'], after: number): void => {
      setTimeout(() => {
        if (entry.killFiredAt !== undefined || entry.trace.end !== 0) return;
        entry.killFiredAt = Date.now();
        entry.killKind = kind;
        entry.kill();
      }, after).unref();
    };
    const onInvocationStart = (start: InvocationStart): void => {
      const entry: Running = {
        trace: { start: Date.now(), end: 0, jobIds: jobIdsOf(start.records), timedOut: false, requeueFailed: [], outcomes: [] },
        kill: () => {
          start.kill();
        },
      };
      running.set(start.poller, entry);
      if (killRandom.chance(rates.kill)) fire(entry, 'kill', killRandom.int(...rates.killWithinMs));
      if (redeliveryRandom.chance(rates.redelivery)) {
        const record = start.records[redeliveryRandom.int(0, start.records.length - 1)];
        const after = redeliveryRandom.int(...rates.redeliveryAfterMs);
        setTimeout(() => {
          if (record === undefined || entry.trace.end !== 0) return;
          const jobId = jobIdsOf([record])[0];
          sqs.client
            .send(new ChangeMessageVisibilityCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 }))
            .then(() => {
              if (jobId !== undefined) redelivered.add(jobId);
              log.add('redelivery', `job ${jobId ?? '?'} visible again ${after} ms into an invocation holding it`);
            })
            .catch(() => undefined);
        }, after).unref();
      }
    };
    // A kill after delivery: the relay's 250 for a copy reached the function, and the invocation dies
    // before it answers the batch (before or after the ledger recorded the delivery, by timing).
    const acknowledgedAt = new Map<string, number>();
    smtpProxy.onAcknowledged = (copyId) => {
      acknowledgedAt.set(copyId, Date.now());
      const jobId = relay.copies.find((copy) => copy.copyId === copyId)?.jobId;
      if (jobId === undefined) return;
      const entry = [...running.values()].find((each) => each.trace.jobIds.includes(jobId) && each.killFiredAt === undefined);
      if (entry === undefined || !killAfterDeliveryRandom.chance(rates.killAfterDelivery)) return;
      fire(entry, 'killAfterDelivery', killAfterDeliveryRandom.int(...rates.killAfterDeliveryMs));
    };
    const onInvocation = (report: InvocationReport): void => {
      const entry = running.get(report.poller);
      running.delete(report.poller);
      const trace = entry?.trace ?? { start: Date.now(), end: 0, jobIds: jobIdsOf(report.records), timedOut: false, requeueFailed: [], outcomes: [] };
      trace.end = Date.now();
      const jobOf = new Map(report.records.map((record) => [record.messageId, jobIdsOf([record])[0]]));
      const jobsOf = (ids: readonly string[]): string[] => ids.flatMap((id) => jobOf.get(id) ?? []);
      trace.handedBack = jobsOf(report.failed);
      trace.deleteFailed = jobsOf(report.deleteFailed);
      if (report.batchFailure !== undefined) trace.batchFailure = report.batchFailure;
      trace.timedOut = report.result.kind === 'timeout';
      if (entry?.killFiredAt !== undefined && report.batchFailure === 'the execution environment ended') {
        trace.killedAt = entry.killFiredAt;
        log.add(entry.killKind ?? 'kill', `invocation of ${trace.jobIds.length} records, ${entry.killFiredAt - trace.start} ms in`);
      }
      for (const line of report.result.logs) {
        if (line.includes('the delivery ledger could not be reached')) {
          const { jobs: unavailable, problem } = ledgerLineOf(line);
          trace.ledgerUnavailable = (trace.ledgerUnavailable ?? 0) + unavailable;
          if (problem !== undefined) trace.ledgerProblem = problem;
        }
        const record = parseLine(line);
        if (record === undefined) continue;
        trace.outcomes.push(record);
        if (record.jobId !== undefined && record.problem?.includes('re-enqueue failed') === true) trace.requeueFailed.push(record.jobId);
      }
      invocations.push(trace);
    };

    const publishRandom = fork('doublePublish');
    const doublePublished = new Set<string>();
    await publishJobs(sqs.client, sqs.queueUrl, jobs, (job) => {
      if (!publishRandom.chance(rates.doublePublish)) return false;
      doublePublished.add(job.id);
      log.add('doublePublish', `job ${job.id} published twice`);
      return true;
    });
    const mapping = await EventSourceMapping.start({
      sqs: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: REGION,
      batchSize: pipeline.batchSize,
      maxConcurrency: pipeline.pollers,
      batchingWindowSeconds: 0,
      waitTimeSeconds: 1,
      function: {
        bundle: options.bundle,
        environment,
        functionName: 'send-mail-chaos',
        region: REGION,
        memoryLimitInMB: 256,
        timeoutSeconds: pipeline.timeoutSeconds,
      },
      onInvocation,
      onInvocationStart,
    });
    stops.push(() => mapping.stop(1000));

    const settleBy = Date.now() + pipeline.settleSeconds * 1000;
    let lastShown = 0;
    for (;;) {
      const depth = await sqs.depth('queue');
      const left = depth.ready + depth.inFlight + depth.delayed;
      if (left === 0 || Date.now() > settleBy) break;
      if (Date.now() - lastShown > 10_000) {
        lastShown = Date.now();
        options.progress?.(
          `${options.queue}: ${Math.round((Date.now() - started) / 1000)} s, ${left} messages left in the queue, ${relay.copies.length} copies delivered, ${invocations.length} invocations`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await mapping.stop(pipeline.timeoutSeconds * 1000);
    stops.pop();
    const [dlq, pending] = await Promise.all([sqs.peek('dlq'), sqs.peek('queue')]);
    const table = account({
      queue: options.queue,
      jobs,
      copies: relay.copies,
      acknowledged: smtpProxy.acknowledged,
      refusals: relay.refusals,
      dlq,
      pending,
      invocations,
      requeues: sqsProxy.sent.filter((sent) => sent.queueUrl === sqs.queueUrl),
      faults: log.counts(),
      faultEvents: log.events,
      seconds: Math.round((Date.now() - started) / 1000),
      doublePublished,
      redelivered,
      ...(ledger === undefined ? {} : { ledger: { ...ledgerEvidence(ledger.calls), acknowledgedAt } }),
    });
    return { table, faults: log };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
