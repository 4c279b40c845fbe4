/**
 * The whole product on this machine, on 127.0.0.1 only: the SQS emulator with the mail queue and
 * its dead-letter queue, the SMTP server (STARTTLS and AUTH required) that keeps what it receives,
 * the real send-mail bundle called by a local event source mapping, and the web page.
 * `lib/local/main.ts` (`npm start`) runs it from the command line; tests start it as a process.
 * @module
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import type { WriteStream } from 'node:fs';
import type { LocalRunState } from '../publish/localRun.js';
import { buildHandlerBundle } from './buildHandlerBundle.js';
import { localTls } from './certificate.js';
import { publishDemoJobs } from './demoJobs.js';
import type { PublishedDemoJob } from './demoJobs.js';
import { EventSourceMapping } from './EventSourceMapping.js';
import { startLocalSmtpServer } from './LocalSmtpServer.js';
import type { LocalSmtpServer } from './LocalSmtpServer.js';
import { LOCAL_LEDGER_TABLE, startLocalDynamo } from './LocalDynamo.js';
import { LOCAL_CREDENTIALS, startLocalSqs } from './LocalSqs.js';
import { ensureLocalPayloadBucket } from './LocalPayloadBucket.js';
import type { LocalSqs } from './LocalSqs.js';
import { Mailbox } from './Mailbox.js';
import { functionEnvironmentOf, readPipelineSettings } from './pipelineSettings.js';
import type { PipelineSettings } from './pipelineSettings.js';
import { LOOPBACK } from './ports.js';
import { RunActivity } from './RunActivity.js';
import type { ActivityStats } from './RunActivity.js';
import { claimStateDir, smtpCredentials, stateLayout } from './stateDir.js';
import type { StateLayout } from './stateDir.js';
import { startWebPage } from './WebPage.js';
import { operatorRedrive } from './web/redrive.js';
import type { WebPage } from './WebPage.js';

/** Default ports (each one can be changed; 0 takes any free port). */
export const DEFAULT_PORTS = { sqs: 9324, smtp: 2587, web: 8025 } as const;

/** The sender of jobs without `from` in the local run. */
export const LOCAL_DEFAULT_SENDER = 'noreply@outbound-mail.test';

/** The function's name in the local run's contexts and logs. */
export const LOCAL_FUNCTION_NAME = 'send-mail-local';

/** Options of {@link startLocalRun}. */
export interface LocalRunOptions {
  stateDir: string;
  ports: { sqs: number; smtp: number; web: number };
  /** The `cdk.json` environment whose pipeline settings are copied. */
  environment: string;
  /** Start empty: the queues kept from the last run and the mailbox are emptied first. */
  clean?: boolean;
  /** Told of each stage while starting. */
  progress?: (line: string) => void;
}

/** A running local run. */
export interface LocalRun {
  settings: PipelineSettings;
  layout: StateLayout;
  state: LocalRunState;
  activity: RunActivity;
  mailbox: Mailbox;
  /** The environment the handler runs with, without the SMTP password. */
  handlerEnvironment: Record<string, string>;
  /** The SQS emulator (for the demo and the tests). */
  sqs: LocalSqs;
  /** Publishes the sample jobs of `--demo`. */
  publishDemo(): Promise<PublishedDemoJob[]>;
  /** Stops everything it started and removes `state.json`; resolves with the final counts and what was left in the queues. */
  stop(): Promise<LocalRunSummary>;
}

/** What a run leaves behind. */
export interface LocalRunSummary extends ActivityStats {
  /** Messages still in the mail queue and the dead-letter queue when it stopped (kept in the state folder for the next run). */
  leftInQueue: number;
  leftInDlq: number;
  mailbox: number;
}

/** A path as the user should see it: relative to the working folder when inside it. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** Stops what was started, last first, ignoring errors (the first error is what matters). */
class Teardown {
  readonly #steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // ignored: the first error is what matters
      }
    }
  }
}

/**
 * Starts everything; the ports first, so that a second run fails at once, naming the port.
 *
 * @throws {PortInUseError} when a port is taken (the message names the flag to change it)
 * @throws {StateDirBusyError} when another local run uses the same state folder
 * @throws {FunctionInitError} when the send-mail bundle fails its cold start
 * @example
 * const run = await startLocalRun({ stateDir: '.local', ports: DEFAULT_PORTS, environment: 'dev' });
 * // ... npm run mail-queue -- send ...
 * const summary = await run.stop();
 */
export async function startLocalRun(options: LocalRunOptions): Promise<LocalRun> {
  const progress = options.progress ?? ((): void => undefined);
  const settings = await readPipelineSettings(options.environment);
  const layout = stateLayout(options.stateDir);
  const teardown = new Teardown();
  let handlerLog: WriteStream | undefined;
  try {
    // The SQS port first (a second run fails at once, naming it), then the state folder is
    // claimed, and only then is the emulator's database in it opened: the queues of the last run.
    const sqs = await startLocalSqs(options.ports.sqs, settings, {
      dataDir: layout.sqsDir,
      beforeOpening: async () => {
        await claimStateDir(layout);
        if (options.clean === true) await rm(layout.sqsDir, { recursive: true, force: true });
      },
    });
    teardown.add(() => sqs.stop());
    progress(`state folder ${layout.root}`);
    const tls = await localTls(layout.tlsDir);
    if (tls.made) progress(`made the local certificate authority ${tls.caFile}`);
    const credentials = await smtpCredentials(layout);
    const mailbox = await Mailbox.open(layout.mailDir);
    if (options.clean === true) await mailbox.clear();
    const activity = new RunActivity();

    // The delivery ledger: dynalite on a free port, its table kept in the state folder beside the
    // queues (a job kept in the queue finds what the ledger knew of it); --clean empties both.
    const ledgerDir = path.join(layout.root, 'ledger');
    if (options.clean === true) await rm(ledgerDir, { recursive: true, force: true });
    const dynamo = await startLocalDynamo(0, { region: settings.region, path: ledgerDir });
    teardown.add(() => dynamo.stop());
    await dynamo.createLedgerTable(LOCAL_LEDGER_TABLE);
    progress(`delivery ledger: table ${LOCAL_LEDGER_TABLE} in dynalite at ${dynamo.endpoint}`);

    const smtp: LocalSmtpServer = await startLocalSmtpServer({
      port: options.ports.smtp,
      tls,
      credentials,
      mailbox,
      onMessage: (entry) => activity.stored(entry, shownPath(layout.mailDir)),
    });
    teardown.add(() => smtp.stop());
    const web: WebPage = await startWebPage({ port: options.ports.web, mailbox, activity, deadLetters: operatorRedrive(sqs) });
    teardown.add(() => web.stop());

    progress('building the send-mail bundle (esbuild, as cdk synth does)');
    const bundle = await buildHandlerBundle(layout.bundleDir);
    const log = createWriteStream(layout.handlerLog, { flags: 'w' });
    handlerLog = log;
    const smtpUrl = new URL(`smtp://${LOOPBACK}:${smtp.port}`);
    smtpUrl.username = credentials.user;
    smtpUrl.password = credentials.pass;
    smtpUrl.searchParams.set('from', LOCAL_DEFAULT_SENDER);
    // Claim checks: the emulator serves S3 too; the function reads (and deletes) offloaded jobs there.
    const payloadBucket = await ensureLocalPayloadBucket(sqs.endpoint, settings.region);
    progress(`claim-check bucket: ${payloadBucket} on the emulator at ${sqs.endpoint}`);
    const environment: Record<string, string> = {
      SMTP_URL: smtpUrl.href,
      SMTP_CA_FILE: tls.caFile,
      ...functionEnvironmentOf(settings),
      QUEUE_URL: sqs.queueUrl,
      DLQ_URL: sqs.dlqUrl,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      MAIL_LEDGER_TABLE: LOCAL_LEDGER_TABLE,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      MAIL_PAYLOAD_BUCKET: payloadBucket,
      AWS_ENDPOINT_URL_S3: sqs.endpoint,
      AWS_REGION: settings.region,
      AWS_DEFAULT_REGION: settings.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: LOCAL_FUNCTION_NAME,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      POWERTOOLS_METRICS_NAMESPACE: 'OutboundMail',
      MAIL_ENVIRONMENT: 'local', // the metrics' Environment dimension (the stack sets the environment's name)
      TZ: 'UTC',
    };
    progress(`starting the function (${settings.maxConcurrency} pollers; each starts its own execution environment when it first gets a batch)`);
    const mapping = await EventSourceMapping.start({
      sqs: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: settings.region,
      batchSize: settings.batchSize,
      maxConcurrency: settings.maxConcurrency,
      batchingWindowSeconds: settings.batchingWindowSeconds,
      function: {
        bundle,
        environment,
        functionName: LOCAL_FUNCTION_NAME,
        region: settings.region,
        memoryLimitInMB: settings.memorySize,
        timeoutSeconds: settings.timeoutSeconds,
      },
      onInvocation: (report) => {
        for (const line of report.result.logs) log.write(`${line}\n`);
        activity.invocation(report);
      },
      onPollError: (poller, error) => log.write(`${JSON.stringify({ localRun: 'poll error', poller, error: String(error) })}\n`),
    });
    teardown.add(() => mapping.stop());
    for (const line of mapping.initLogs) log.write(`${line}\n`);

    const watch = setInterval(() => {
      void Promise.all([sqs.depth('queue'), sqs.peek('dlq')])
        .then(([queue, dlq]) => activity.queues(queue, dlq))
        .catch(() => undefined);
    }, 1000);
    teardown.add(() => clearInterval(watch));

    const state: LocalRunState = {
      pid: process.pid,
      sqsEndpoint: sqs.endpoint,
      region: settings.region,
      queueUrl: sqs.queueUrl,
      dlqUrl: sqs.dlqUrl,
      smtpPort: smtp.port,
      webUrl: web.url,
      mailDir: layout.mailDir,
      credentials: { ...LOCAL_CREDENTIALS },
      payloadBucket,
    };
    await writeFile(layout.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    teardown.add(() => rm(layout.stateFile, { force: true }));

    let stopping: Promise<LocalRunSummary> | undefined;
    const stop = async (): Promise<LocalRunSummary> => {
      clearInterval(watch);
      await mapping.stop();
      try {
        activity.queues(await sqs.depth('queue'), await sqs.peek('dlq'));
      } catch {
        // the counts stay as last seen
      }
      const stats = activity.stats();
      const summary: LocalRunSummary = {
        ...stats,
        leftInQueue: stats.queue.ready + stats.queue.inFlight + stats.queue.delayed,
        leftInDlq: stats.dlq,
        mailbox: mailbox.entries().length,
      };
      await teardown.run();
      await new Promise((resolve) => log.end(resolve));
      return summary;
    };

    return {
      settings,
      layout,
      state,
      activity,
      mailbox,
      handlerEnvironment: { ...environment, SMTP_URL: smtpUrl.href.replace(`:${encodeURIComponent(credentials.pass)}@`, ':***@') },
      sqs,
      publishDemo: () => publishDemoJobs(sqs.client, sqs.queueUrl),
      stop: () => (stopping ??= stop()),
    };
  } catch (error) {
    await teardown.run();
    handlerLog?.end();
    throw error;
  }
}
