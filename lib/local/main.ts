/**
 * `npm start`: runs the whole product on this machine (see localRun.ts) until Ctrl-C, showing
 * what happens as it happens. `npm start -- --help` lists the options.
 * @module
 */
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { PROJECT_ROOT } from '../../infra/sendMailBundle.js';
import { LOCAL_RUN_DIR } from '../publish/localRun.js';
import { DEMO_JOBS } from './demoJobs.js';
import { LiveView, countsLine } from './LiveView.js';
import { DEFAULT_PORTS, shownPath, startLocalRun } from './localRun.js';
import type { LocalRun, LocalRunSummary } from './localRun.js';
import { DEFAULT_STATE_DIR } from './stateDir.js';

interface Flags {
  demo?: boolean;
  env: string;
  sqsPort: number;
  smtpPort: number;
  webPort: number;
  stateDir: string;
  clean?: boolean;
  color: boolean;
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('a port is a whole number from 0 (any free port) to 65535');
  return Number(value);
}

function envPort(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  try {
    return port(value);
  } catch {
    process.stderr.write(`npm start: ${name}=${value} is not a port (0 to 65535)\n`);
    process.exit(2);
  }
}

const program = new Command('npm start --')
  .description(
    "Run the whole product locally on 127.0.0.1: the SQS emulator with the mail queue and its DLQ, an SMTP server with STARTTLS and AUTH that keeps what it receives as .eml files, and the real send-mail bundle called as Lambda's event source mapping would. Ctrl-C stops everything.",
  )
  .option('--demo', `publish ${DEMO_JOBS.length} sample jobs covering every outcome once started`)
  .option('--env <name>', 'the cdk.json environment whose batch size, concurrency, timeout and redrive are copied', 'dev')
  .option('--sqs-port <port>', 'SQS emulator port (env LOCAL_SQS_PORT)', port, envPort('LOCAL_SQS_PORT', DEFAULT_PORTS.sqs))
  .option('--smtp-port <port>', 'SMTP server port (env LOCAL_SMTP_PORT)', port, envPort('LOCAL_SMTP_PORT', DEFAULT_PORTS.smtp))
  .option('--web-port <port>', 'web page port (env LOCAL_WEB_PORT)', port, envPort('LOCAL_WEB_PORT', DEFAULT_PORTS.web))
  .option(
    '--state-dir <dir>',
    'where the certificate, the mailbox and state.json are kept (env LOCAL_STATE_DIR)',
    process.env['LOCAL_STATE_DIR'] || DEFAULT_STATE_DIR,
  )
  .option(
    '--clean',
    'start empty: no jobs in the queues or the DLQ, no messages in the mailbox, nothing in the delivery ledger (the certificate and the SMTP password stay)',
  )
  .option('--no-color', 'no colours in the live view (also: NO_COLOR=1)')
  .exitOverride();

let flags: Flags;
try {
  program.parse(process.argv.slice(2), { from: 'user' });
  flags = program.opts<Flags>();
} catch (error) {
  process.exit(error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') ? 0 : 2);
}

const out = process.stdout;
const view = new LiveView(out, { colour: flags.color && !process.env['NO_COLOR'] });
const stateDir = path.resolve(flags.stateDir);

let run: LocalRun;
try {
  run = await startLocalRun({
    stateDir,
    ports: { sqs: flags.sqsPort, smtp: flags.smtpPort, web: flags.webPort },
    environment: flags.env,
    clean: flags.clean === true,
    progress: (line) => out.write(`… ${line}\n`),
  });
} catch (error) {
  process.stderr.write(`npm start: ${(error as Error).message}\n`);
  const logs = (error as { logs?: string[] }).logs ?? [];
  for (const line of logs) process.stderr.write(`  ${line}\n`);
  process.exit(1);
}

printBanner(run);
run.activity.onEvent = (event) => view.event(event);
run.activity.onChange = () => view.counts(run.activity.stats());
view.counts(run.activity.stats());

let stopping = false;
async function shutDown(signal: string): Promise<void> {
  if (stopping) {
    process.stderr.write(`\n${signal} again: leaving at once\n`);
    process.exit(130);
  }
  stopping = true;
  view.end();
  out.write(`${signal}: stopping (the pollers, the function, the SMTP server, the web page, the SQS emulator)…\n`);
  const summary = await run.stop();
  printSummary(summary);
  process.exit(0);
}
process.on('SIGINT', () => void shutDown('SIGINT'));
process.on('SIGTERM', () => void shutDown('SIGTERM'));

if (flags.demo === true) {
  try {
    const published = await run.publishDemo();
    view.print(`--demo: published ${published.length} sample jobs:`);
    for (const job of published) view.print(`  ${job.messageId}  ${job.shows}`);
  } catch (error) {
    view.print(`--demo: could not publish the sample jobs: ${(error as Error).message}`);
  }
}

function printBanner(local: LocalRun): void {
  const { settings, state, layout } = local;
  const relative = shownPath;
  const defaultDir = stateDir === path.join(PROJECT_ROOT, LOCAL_RUN_DIR);
  const lines = [
    '',
    `outbound-mail, running locally (pid ${state.pid}) with the pipeline of cdk.json "${settings.environment}":`,
    `  ${settings.batchSize} jobs per batch (per SMTP connection), at most ${settings.maxConcurrency} at once, ` +
      `${settings.timeoutSeconds} s function timeout, visibility ${settings.visibilityTimeoutSeconds} s, DLQ after ${settings.maxReceiveCount} receives` +
      (settings.batchingWindowSeconds > 0 ? `, batching window ${settings.batchingWindowSeconds} s` : ''),
    ...(settings.allowedRecipients === undefined
      ? []
      : [
          `  sends only to ${settings.allowedRecipients.join(', ')} (allowedRecipients): other recipients are suppressed, as in the deployed "${settings.environment}"`,
        ]),
    '',
    `  SQS      ${state.sqsEndpoint}   queue ${state.queueUrl}`,
    `                                     DLQ   ${state.dlqUrl}`,
    `  SMTP     127.0.0.1:${state.smtpPort}   STARTTLS + AUTH required (CA ${relative(path.join(layout.tlsDir, 'ca.pem'))})`,
    `  mailbox  ${relative(layout.mailDir)}/   one .eml file per message received`,
    `  web      ${state.webUrl}`,
    `  handler  the send-mail bundle ${relative(path.join(layout.bundleDir, 'index.mjs'))}; its logs in ${relative(layout.handlerLog)}`,
    '',
    'Send your first job from a second terminal (in this folder):',
    defaultDir
      ? '  npm run mail-queue -- send --to ann@example.com --subject "Hello" --text "Hi Ann"'
      : `  npm run mail-queue -- send --queue-url ${state.queueUrl} --endpoint ${state.sqsEndpoint} --to ann@example.com --subject "Hello" --text "Hi Ann"`,
    '  (refuse@… is refused with 550; later@… with 450 the first time. Other tools: ' +
      `AWS_ENDPOINT_URL_SQS=${state.sqsEndpoint} MAIL_QUEUE_URL=${state.queueUrl} AWS_REGION=${state.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  out.write(`${lines.join('\n')}\n`);
}

function printSummary(summary: LocalRunSummary): void {
  out.write(`final counts: ${countsLine(summary)}\n`);
  out.write(`${keptLine(summary)}\n`);
  out.write(`summary ${JSON.stringify(summary)}\n`);
}

/** What the next `npm start` finds again, and how to start empty instead. */
function keptLine(summary: LocalRunSummary): string {
  const shown = shownPath(stateDir);
  const jobs =
    summary.leftInQueue + summary.leftInDlq === 0
      ? 'the queues (empty)'
      : `${summary.leftInQueue} job(s) in the queue and ${summary.leftInDlq} in the DLQ`;
  return (
    `kept in ${shown}/ for the next start: ${jobs}, ${summary.mailbox} message(s) in the mailbox, the delivery ledger (a job id sent again is suppressed), the certificate and the SMTP password; ` +
    '`npm start -- --clean` starts with empty queues, mailbox and ledger'
  );
}
