/**
 * `mail-queue stats`: how full the mail queue and its dead-letter queue are.
 * @module
 */
import type { Command } from 'commander';
import { queueStats } from '../../operate/queueStats.js';
import type { QueueDepth, QueueStats } from '../../operate/types.js';
import { EXIT_OK, failed, usage, UsageError, type CliIo } from './cliIo.js';
import { requireQueueUrl, resolveQueueTarget, withQueueTarget, type QueueTargetFlags } from './queueTarget.js';

/** Adds `stats` to the program; `done` receives its exit status. */
export function addStatsCommand(program: Command, io: CliIo, done: (status: number) => void): void {
  withQueueTarget(program.command('stats'))
    .description('queue depth, in flight, delayed, and the same for the DLQ with the age of its oldest message')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
SQS's API has no age for a queue's oldest message (that is CloudWatch's
ApproximateAgeOfOldestMessage, on the stack's dashboard), and peeking at the mail queue would
hide jobs from the function. The DLQ, which nothing consumes, is peeked at (up to 100 messages,
made visible again at once) for the age of its oldest dead letter: exact up to 100, a lower
bound beyond.`,
    )
    .action(async (flags: QueueTargetFlags & { json?: boolean }) => {
      done(await stats(flags, io));
    });
}

async function stats(flags: QueueTargetFlags & { json?: boolean }, io: CliIo): Promise<number> {
  let target;
  try {
    target = await resolveQueueTarget(flags, io);
  } catch (error) {
    return error instanceof UsageError ? usage(io, error) : failed(io, error);
  }
  try {
    const result = await queueStats({ sqs: target.sqs, queueUrl: requireQueueUrl(target), dlqUrl: target.dlqUrl });
    io.stdout.write(flags.json === true ? `${JSON.stringify(result, null, 2)}\n` : statsText(result, target.origin));
    return EXIT_OK;
  } catch (error) {
    return error instanceof UsageError ? usage(io, error) : failed(io, error);
  } finally {
    target.sqs.destroy();
  }
}

/** The text of `stats`. */
export function statsText(stats: QueueStats, origin: string): string {
  const lines = [`queues of ${origin}`, `mail queue         ${stats.queueUrl}`, ...depthLines(stats.queue)];
  lines.push('  oldest           not in the SQS API (CloudWatch ApproximateAgeOfOldestMessage)');
  if (stats.dlq !== undefined) {
    lines.push(`dead-letter queue  ${stats.dlqUrl ?? ''}`, ...depthLines(stats.dlq));
    const age = stats.oldestDeadLetterAgeSeconds;
    const seen = stats.deadLettersSeen ?? 0;
    const total = stats.dlq.ready;
    lines.push(
      `  oldest           ${age === undefined ? '-' : `${duration(age)}${seen < total ? ` (at least: ${seen} of ${total} looked at)` : ''}`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function depthLines(depth: QueueDepth): string[] {
  return [`  ready            ${depth.ready}`, `  in flight        ${depth.inFlight}`, `  delayed          ${depth.delayed}`];
}

/** `3d 4h`, `2h 5m`, `4m 10s`, `12s`. */
export function duration(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let left = Math.max(0, Math.round(seconds));
  for (const [size, unit] of units) {
    if (left >= size || (size === 1 && parts.length === 0)) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
