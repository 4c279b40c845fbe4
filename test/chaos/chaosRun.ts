/**
 * One fault-injection run on one queue: the SQS emulator (with the stack's redrive to a DLQ), the
 * relay and the two fault proxies, the real send-mail bundle invoked by the local event source
 * stand-in (worker threads, some killed mid-batch: invocationFaults.ts), the jobs published, then
 * wait until the queue is empty (or the time is up), and account for every (job, recipient). The
 * fault plan and the pipeline's settings are in chaosPlan.ts.
 * @module
 */
import { EventSourceMapping } from '../../lib/local/EventSourceMapping.js';
import type { HandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import { LOCAL_CREDENTIALS, startLocalSqs } from '../../lib/local/LocalSqs.js';
import type { PipelineSettings } from '../../lib/local/pipelineSettings.js';
import { account } from './accounting.js';
import type { ChaosTable } from './accounting.js';
import { ledgerEvidence, startChaosLedger } from './chaosLedger.js';
import { makeJobs, publishJobs } from './chaosJobs.js';
import { DEFAULT_PIPELINE, DEFAULT_RATES } from './chaosPlan.js';
import type { ChaosPipeline, FaultRates } from './chaosPlan.js';
import { CHAOS_DOMAIN, startChaosRelay } from './chaosRelay.js';
import { FaultLog } from './FaultLog.js';
import { injectInvocationFaults } from './invocationFaults.js';
import { SeededRandom } from './random.js';
import { startSmtpFaultProxy } from './SmtpFaultProxy.js';
import { startSqsFaultProxy } from './SqsFaultProxy.js';

export { DEFAULT_PIPELINE, DEFAULT_RATES } from './chaosPlan.js';
export type { ChaosPipeline, FaultRates } from './chaosPlan.js';

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

    const { invocations, redelivered, acknowledgedAt, onInvocationStart, onInvocation, onAcknowledged } = injectInvocationFaults({
      rates,
      fork,
      log,
      sqs: sqs.client,
      queueUrl: sqs.queueUrl,
      copies: relay.copies,
    });
    smtpProxy.onAcknowledged = onAcknowledged;

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
