/**
 * `mail-queue send` and `mail-queue bulk`: publish mail jobs, checked before they are sent.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import { formatIssue, InvalidJobError } from '../../message/InvalidJobError.js';
import type { MailJobInput } from '../../message/types.js';
import { publishNdjson, type BulkSummary, type Refusal } from '../bulkPublish.js';
import { jobFromFlags, UsageError, type JobFlags } from '../jobFromFlags.js';
import { JobWithFiles } from '../JobWithFiles.js';
import { PublishError } from '../PublishError.js';
import { toQueueMessage } from '../queueMessage.js';
import { EXIT_FAILED, EXIT_OK, usage, type CliIo } from './cliIo.js';
import { openPublishQueue, withPublishTarget, type PublishTargetFlags as QueueFlags } from './publishTarget.js';

/** Adds `send` and `bulk` to the program; `done` receives each command's exit status. */
export function addPublishCommands(program: Command, io: CliIo, done: (status: number) => void): void {
  withPublishTarget(program.command('send'))
    .description('publish one job, described by flags or read from a JSON file')
    .option('--file <path>', 'read the job from a JSON file ("-" for stdin) instead of flags')
    .option('--id <id>', 'your job id: keeps the Message-ID across retries, FIFO deduplication id')
    .option('--delay <time>', 'hold the job this long before it can be sent: 90, 90s, 5m (at most 15m; standard queues only)')
    .option('--from <address>', 'sender (default: the sender configured for the queue)')
    .option('--to <address>', 'recipient; repeat for more', collect)
    .option('--cc <address>', 'copy recipient; repeat for more', collect)
    .option('--bcc <address>', 'blind copy recipient (envelope only); repeat for more', collect)
    .option('--reply-to <address>', 'Reply-To address; repeat for more', collect)
    .option('--subject <text>', 'subject line')
    .option('--text <text>', 'plain text body')
    .option('--text-file <path>', 'plain text body from a UTF-8 file')
    .option('--html <html>', 'HTML body')
    .option('--html-file <path>', 'HTML body from a UTF-8 file')
    .option('--header <"Name: value">', 'extra header field such as "List-Unsubscribe: <mailto:u@example.com>"; repeat for more', collect)
    .option('--attach <path>', 'attach a file (content type from its extension); repeat for more', collect)
    .option('--inline <cid=path>', 'inline image for the HTML, referenced as src="cid:<cid>"; repeat for more', collect)
    .option('--dry-run', 'check the job and print it as JSON; send nothing')
    .addHelpText(
      'after',
      `
Addresses: "ann@example.com" or "Ann Lee <ann@example.com>". Anything ambiguous (several
addresses in one flag, comments, quoted local parts) is refused.

Examples:
  mail-queue send --from "Shop <shop@example.com>" --to ann@example.com --subject "Your order" \\
    --text-file order.txt --html-file order.html --inline logo@shop=./logo.png --attach invoice.pdf
  mail-queue send --file job.json --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/mail
  mail-queue send --stack OutboundMail-prod --to ann@example.com --subject "Statement" --attach statement.pdf`,
    )
    .action(async (flags: QueueFlags & Partial<JobFlags> & { file?: string; dryRun?: boolean }) => {
      done(await send(flags, io));
    });

  withPublishTarget(program.command('bulk'))
    .description('publish many jobs from NDJSON (one JSON job per line), from a file or stdin')
    .argument('[file]', 'NDJSON file; "-" or nothing reads stdin')
    .addOption(new Option('--no-progress', 'no progress bar (it shows only when stdout is a terminal)'))
    .addHelpText(
      'after',
      `
Every line is checked on its own: valid jobs are sent in batches of up to 10, invalid lines are
refused and listed with their line number and reason at the end. The exit status is 1 when any
line was refused or not taken by SQS.

Example:
  mail-queue bulk jobs.ndjson --queue-url "$MAIL_QUEUE_URL"`,
    )
    .action(async (file: string | undefined, flags: QueueFlags & { progress: boolean }) => {
      done(await bulk(file, flags, io));
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function send(flags: QueueFlags & Partial<JobFlags> & { file?: string; dryRun?: boolean }, io: CliIo): Promise<number> {
  let job: MailJobInput | JobWithFiles;
  try {
    job = flags.file === undefined ? await jobFromFlags(flagsWithDefaults(flags)) : await readJobFile(flags.file, io);
  } catch (error) {
    return usage(io, error);
  }
  try {
    // Valid at all (its size is checked by the queue, which knows whether it can go through S3).
    toQueueMessage(job instanceof JobWithFiles ? job.checkJob : job, 0, undefined, '', {
      offload: true,
      offloadThresholdBytes: 0,
      maxMessageBytes: Infinity,
    });
  } catch (error) {
    if (error instanceof InvalidJobError) return refused(io, error);
    throw error;
  }
  if (flags.dryRun === true) {
    io.stdout.write(`${JSON.stringify(job instanceof JobWithFiles ? await job.job() : job, null, 2)}\n`);
    return EXIT_OK;
  }
  const queue = await openPublishQueue(flags, io);
  if (typeof queue === 'number') return queue;
  try {
    const sent = await queue.send(job);
    io.stdout.write(`sent${sent.jobId === undefined ? '' : ` job ${sent.jobId}`} as SQS message ${sent.messageId}\n`);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof InvalidJobError) return refused(io, error);
    if (error instanceof PublishError) {
      io.stderr.write(`mail-queue: SQS did not take the job: ${error.code}: ${error.message}\n`);
      return EXIT_FAILED;
    }
    io.stderr.write(`mail-queue: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }
}

async function bulk(file: string | undefined, flags: QueueFlags & { progress: boolean }, io: CliIo): Promise<number> {
  if ((file === undefined || file === '-') && io.stdin.isTTY === true) {
    return usage(io, new UsageError('give an NDJSON file, or pipe jobs into stdin (one JSON job per line)'));
  }
  let input: Uint8Array;
  try {
    input = file === undefined || file === '-' ? await readAll(io.stdin) : await readFile(file);
  } catch (error) {
    return usage(io, error);
  }
  const queue = await openPublishQueue(flags, io);
  if (typeof queue === 'number') return queue;
  const bar =
    flags.progress && io.stdout.isTTY === true
      ? new SingleBar({ stream: io.stdout, format: 'publishing [{bar}] {value}/{total} jobs', hideCursor: true, clearOnComplete: true })
      : undefined;
  let summary: BulkSummary;
  try {
    summary = await publishNdjson(queue, input, (done, total) => {
      if (bar === undefined) return;
      if (bar.getTotal() !== total || done === 0) bar.start(total, done);
      bar.update(done);
    });
  } finally {
    bar?.stop();
  }
  io.stdout.write(report(summary));
  return summary.refused.length === 0 && summary.failed.length === 0 ? EXIT_OK : EXIT_FAILED;
}

function report(summary: BulkSummary): string {
  const lines = [`sent ${summary.sent} of ${summary.total} jobs, refused ${summary.refused.length}, failed ${summary.failed.length}`];
  const list = (title: string, items: Refusal[]) => {
    if (items.length === 0) return;
    lines.push(`${title}:`);
    for (const item of items) lines.push(`  line ${item.line}${item.jobId === undefined ? '' : ` (${item.jobId})`}: ${item.reason}`);
  };
  list('refused (invalid, not sent)', summary.refused);
  list('failed (SQS did not take them)', summary.failed);
  return `${lines.join('\n')}\n`;
}

function flagsWithDefaults(flags: Partial<JobFlags>): JobFlags {
  return { to: [], cc: [], bcc: [], replyTo: [], header: [], attach: [], inline: [], ...flags };
}

async function readJobFile(path: string, io: CliIo): Promise<MailJobInput> {
  const bytes = path === '-' ? await readAll(io.stdin) : await readFile(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path} is not valid UTF-8`);
  }
  try {
    return JSON.parse(text) as MailJobInput;
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function refused(io: CliIo, error: InvalidJobError): number {
  io.stderr.write(`mail-queue: the job was refused and not sent:\n${error.issues.map((issue) => `  ${formatIssue(issue)}`).join('\n')}\n`);
  return EXIT_FAILED;
}
