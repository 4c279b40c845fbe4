/**
 * `mail-queue dlq list|show|redrive|purge`: the dead-letter queue from the shell, on the
 * operator library (lib/operate).
 * @module
 */
import { createInterface } from 'node:readline/promises';
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { describeJob, describeJobInput } from '../../operate/describeJob.js';
import { DEFAULT_LIST_MAX, findDeadLetters, listDeadLetters } from '../../operate/listDeadLetters.js';
import { purgeDeadLetters } from '../../operate/purgeDeadLetters.js';
import { queueDepth } from '../../operate/queueStats.js';
import { redriveDeadLetters } from '../../operate/redriveDeadLetters.js';
import type { DeadLetterFilter, RedriveSummary } from '../../operate/types.js';
import { EXIT_FAILED, EXIT_OK, failed, usage, UsageError, type CliIo } from './cliIo.js';
import { claimCheckLines, deadLetterDetail, deadLetterJson, deadLetterTable, listFooter, redriveJson, redriveReport } from './deadLetterText.js';
import { parseSince } from './since.js';
import { requireQueueUrl, resolveQueueTarget, withQueueTarget, type QueueTarget, type QueueTargetFlags } from './queueTarget.js';

interface FilterFlags {
  reason?: string;
  code?: string;
  job?: string;
  tag?: string[];
  since?: string;
}

const FILTER_HELP = `
Filters (all given must hold):
  --reason <text>   a piece of the reason: phase (rcpt, data, job...), server text, error name,
                    kind (permanent, last-receive, invalid); "moved by SQS" for jobs SQS moved
  --code <code>     reply code (550), enhanced code (5.1.1) or class (4xx, 5xx)
  --job <id>        the producer's job id
  --tag <key=value> one of the job's tags, exactly; repeat for more (all must hold)
  --since <when>    dead-lettered since: 30m, 2h, 7d, or an ISO date (2026-12-01T09:00Z)`;

/** Adds `dlq` and its subcommands to the program; `done` receives each command's exit status. */
export function addDlqCommands(program: Command, io: CliIo, done: (status: number) => void): void {
  const dlq = program
    .command('dlq')
    .description('look at the dead-letter queue, put jobs back on the mail queue, or empty it')
    .addHelpText('after', `\nEvery dlq command works on the local run (npm start) with no flags, or on AWS with\n--queue-url, --dlq-url or --stack.`);

  withFilters(withQueueTarget(dlq.command('list')))
    .description('list the dead letters, newest first: when, job, SQS message id, receives, who put it there, reason, recipient domains')
    .option('--json', 'print a JSON array (one object per dead letter) instead of a table')
    .option('--max <n>', `look at this many DLQ messages at most (default ${DEFAULT_LIST_MAX})`, positiveInteger)
    .addHelpText('after', `${FILTER_HELP}\n\nReading does not consume: each message is received and made visible again at once.`)
    .action(async (flags: QueueTargetFlags & FilterFlags & { json?: boolean; max?: number }) => {
      done(await guarded(io, async () => list(flags, io)));
    });

  withQueueTarget(dlq.command('show'))
    .description('everything about one dead letter: attributes, reason, the job summarised and its headers')
    .argument('<id>', 'job id or SQS message id')
    .option('--json', 'print JSON')
    .option('--raw', "also print the body as it is (the job's content, attachments included)")
    .action(async (id: string, flags: QueueTargetFlags & { json?: boolean; raw?: boolean }) => {
      done(await guarded(io, async () => show(id, flags, io)));
    });

  withFilters(withQueueTarget(dlq.command('redrive')))
    .description('put dead letters back on the mail queue (sent first, deleted from the DLQ after)')
    .argument('[ids...]', 'job ids or SQS message ids to redrive (invalid jobs included)')
    .option('--all', 'every dead letter (the filters narrow it); invalid jobs only when named by id')
    .option('--dry-run', 'say what would be redriven; change nothing')
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--no-progress', 'no progress bar (it shows only when stdout is a terminal)'))
    .addHelpText(
      'after',
      `${FILTER_HELP}

Give ids, a filter or --all. Each job goes back with its body and id (so the same Message-ID),
without the dead-letter attributes, and is deleted from the DLQ only once the mail queue took it:
a failure in between leaves it in both queues, never in neither. A job whose body is not valid
would only be dead-lettered again: it is redriven only when named by id.

Examples:
  mail-queue dlq redrive --code 4xx --since 2h --dry-run
  mail-queue dlq redrive order-1234
  mail-queue dlq redrive --all --stack OutboundMail-prod`,
    )
    .action(async (ids: string[], flags: QueueTargetFlags & FilterFlags & { all?: boolean; dryRun?: boolean; json?: boolean; progress: boolean }) => {
      done(await guarded(io, async () => redrive(ids, flags, io)));
    });

  withFilters(withQueueTarget(dlq.command('purge')))
    .description('delete dead letters for good (all, or those the filters pick) and say how many')
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .addHelpText('after', FILTER_HELP)
    .action(async (flags: QueueTargetFlags & FilterFlags & { yes?: boolean }) => {
      done(await guarded(io, async () => purge(flags, io)));
    });
}

function withFilters(command: Command): Command {
  return command
    .option('--reason <text>', 'a piece of the reason (phase, server text, error name, kind)')
    .option('--code <code>', 'reply code, enhanced code or class (550, 5.1.1, 4xx)')
    .option('--job <id>', 'the job id')
    .option('--tag <key=value>', "one of the job's tags (tenant=acme); repeat for more", (value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ])
    .option('--since <when>', 'dead-lettered since (30m, 2h, 7d or an ISO date)');
}

function filterOf(flags: FilterFlags): DeadLetterFilter | undefined {
  const filter: DeadLetterFilter = {};
  if (flags.reason !== undefined) filter.reason = flags.reason;
  if (flags.code !== undefined) filter.code = flags.code;
  if (flags.job !== undefined) filter.job = flags.job;
  if (flags.tag !== undefined) filter.tags = parseTags(flags.tag);
  if (flags.since !== undefined) filter.since = parseSince(flags.since, new Date());
  return Object.keys(filter).length === 0 ? undefined : filter;
}

/** `--tag key=value` flags as one object; a flag without `=` or with an empty key is a usage error. */
function parseTags(flags: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const flag of flags) {
    const equals = flag.indexOf('=');
    if (equals <= 0) throw new UsageError(`--tag ${JSON.stringify(flag)} must look like key=value`);
    tags[flag.slice(0, equals)] = flag.slice(equals + 1);
  }
  return tags;
}

/** Runs a command: usage errors exit 2, SQS and other errors exit 1, both with one line on stderr. */
async function guarded(io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    return error instanceof UsageError ? usage(io, error) : failed(io, error);
  }
}

async function withTarget<T>(flags: QueueTargetFlags, io: CliIo, run: (target: QueueTarget) => Promise<T>): Promise<T> {
  const target = await resolveQueueTarget(flags, io);
  try {
    return await run(target);
  } finally {
    target.sqs.destroy();
    target.s3.destroy();
  }
}

async function list(flags: QueueTargetFlags & FilterFlags & { json?: boolean; max?: number }, io: CliIo): Promise<number> {
  const filter = filterOf(flags);
  const max = flags.max ?? DEFAULT_LIST_MAX;
  return withTarget(flags, io, async (target) => {
    const depth = await queueDepth(target.sqs, target.dlqUrl);
    const letters = await listDeadLetters({
      sqs: target.sqs,
      s3: target.s3,
      dlqUrl: target.dlqUrl,
      max,
      ...(filter === undefined ? {} : { filter }),
    });
    if (flags.json === true) {
      io.stdout.write(`${JSON.stringify(letters.map(deadLetterJson), null, 2)}\n`);
      return EXIT_OK;
    }
    if (letters.length > 0) io.stdout.write(deadLetterTable(letters));
    io.stdout.write(claimCheckLines(letters));
    io.stdout.write(listFooter(letters, { max, reached: depth.ready + depth.inFlight > max }));
    return EXIT_OK;
  });
}

async function show(id: string, flags: QueueTargetFlags & { json?: boolean; raw?: boolean }, io: CliIo): Promise<number> {
  return withTarget(flags, io, async (target) => {
    const found = await findDeadLetters({ sqs: target.sqs, s3: target.s3, dlqUrl: target.dlqUrl, id });
    if (found.length === 0) {
      io.stderr.write(`mail-queue: no dead letter with job id or SQS message id ${id} in ${target.dlqUrl}\n`);
      return EXIT_FAILED;
    }
    const described = await Promise.all(
      found.map(async ({ letter, body, offloaded }) => ({
        letter,
        body,
        job: offloaded === undefined ? await describeJob(body) : await describeJobInput(offloaded.input, offloaded.attachmentBytes),
      })),
    );
    if (flags.json === true) {
      const json = described.map(({ letter, body, job }) => ({ ...deadLetterJson(letter), job, ...(flags.raw === true ? { body } : {}) }));
      io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return EXIT_OK;
    }
    io.stdout.write(
      described
        .map(({ letter, body, job }) => `${deadLetterDetail(letter, job)}${flags.raw === true ? `body (as it is in the DLQ)\n${body}\n` : ''}`)
        .join('\n'),
    );
    return EXIT_OK;
  });
}

async function redrive(
  ids: string[],
  flags: QueueTargetFlags & FilterFlags & { all?: boolean; dryRun?: boolean; json?: boolean; progress: boolean },
  io: CliIo,
): Promise<number> {
  const filter = filterOf(flags);
  if (ids.length === 0 && filter === undefined && flags.all !== true) {
    throw new UsageError('say what to redrive: job or message ids, a filter (--reason, --code, --job, --tag, --since), or --all');
  }
  return withTarget(flags, io, async (target) => {
    const queueUrl = requireQueueUrl(target);
    const bar =
      flags.progress && io.stdout.isTTY === true && flags.json !== true
        ? new SingleBar({
            stream: io.stdout,
            format: 'redriving [{bar}] {value}/{total} dead letters looked at',
            hideCursor: true,
            clearOnComplete: true,
          })
        : undefined;
    let summary: RedriveSummary;
    try {
      summary = await redriveDeadLetters({
        sqs: target.sqs,
        dlqUrl: target.dlqUrl,
        queueUrl,
        ids,
        ...(filter === undefined ? {} : { filter }),
        all: flags.all === true,
        dryRun: flags.dryRun === true,
        onProgress: (doneCount, total) => {
          if (bar === undefined) return;
          if (bar.getTotal() !== total || doneCount === 0) bar.start(total, doneCount);
          bar.update(doneCount);
        },
      });
    } finally {
      bar?.stop();
    }
    io.stdout.write(flags.json === true ? `${JSON.stringify(redriveJson(summary), null, 2)}\n` : redriveReport(summary, queueUrl));
    return summary.notSent.length + summary.notDeleted.length + summary.notFound.length === 0 ? EXIT_OK : EXIT_FAILED;
  });
}

async function purge(flags: QueueTargetFlags & FilterFlags & { yes?: boolean }, io: CliIo): Promise<number> {
  const filter = filterOf(flags);
  if (flags.yes !== true && io.stdin.isTTY !== true)
    throw new UsageError('purge deletes dead letters for good: give --yes (stdin is not a terminal to ask)');
  return withTarget(flags, io, async (target) => {
    if (flags.yes !== true) {
      const depth = await queueDepth(target.sqs, target.dlqUrl);
      const what = filter === undefined ? `every message (about ${depth.ready})` : `the dead letters matching the filters (of about ${depth.ready})`;
      if (!(await confirm(io, `Delete ${what} from ${target.dlqUrl} for good? [y/N] `))) {
        io.stderr.write('mail-queue: nothing deleted\n');
        return EXIT_FAILED;
      }
    }
    const summary = await purgeDeadLetters({ sqs: target.sqs, dlqUrl: target.dlqUrl, ...(filter === undefined ? {} : { filter }) });
    const kept = summary.kept > 0 ? `, kept ${summary.kept} not matching` : '';
    const failures = summary.failed > 0 ? `, ${summary.failed} could not be deleted` : '';
    io.stdout.write(`removed ${summary.removed} dead letter${summary.removed === 1 ? '' : 's'} from ${target.dlqUrl}${kept}${failures}\n`);
    return summary.failed === 0 ? EXIT_OK : EXIT_FAILED;
  });
}

async function confirm(io: CliIo, question: string): Promise<boolean> {
  const lines = createInterface({ input: io.stdin, output: io.stderr, terminal: false });
  try {
    return /^y(es)?$/i.test((await lines.question(question)).trim());
  } finally {
    lines.close();
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number above 0');
  return number;
}
