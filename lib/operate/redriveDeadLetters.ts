/**
 * Putting dead-lettered jobs back on the mail queue: each one sent to the queue first and deleted
 * from the DLQ only once the queue took it, so a crash or a failure in between leaves a job in
 * both queues (a visible duplicate), never in neither.
 * @module
 */
import { createHash } from 'node:crypto';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import { matchesFilter, readDeadLetter, REDRIVE_DROPPED_ATTRIBUTES } from './deadLetter.js';
import { newestFirst } from './listDeadLetters.js';
import { releaseMessages, scanQueue } from './scanQueue.js';
import type { DeadLetter, DeadLetterFilter, RedriveSummary } from './types.js';

/**
 * Seconds a message the redrive leaves in the DLQ (not selected, or not sent) stays hidden while
 * the redrive goes on; all are given back when it ends.
 */
const HOLD_SECONDS = 300;

/** Options of {@link redriveDeadLetters}. */
export interface RedriveOptions {
  sqs: SQSClient;
  dlqUrl: string;
  /** The mail queue the jobs go back to. */
  queueUrl: string;
  /** Redrive the letters that match it (invalid jobs excepted). */
  filter?: DeadLetterFilter;
  /** Redrive these, by SQS message id or job id, invalid jobs included. */
  ids?: readonly string[];
  /** Redrive every letter (invalid jobs excepted), with `filter` narrowing it when given. */
  all?: boolean;
  /** Look and report, change nothing. */
  dryRun?: boolean;
  /** Called after each batch: DLQ messages looked at, and the DLQ's depth when the redrive began (or more, once more were seen). */
  onProgress?: (done: number, total: number) => void;
  /** Messages of the DLQ to look at, at most. @default Infinity */
  max?: number;
  /** Long polling of each receive. @default 1 */
  waitSeconds?: number;
}

/**
 * Puts the selected dead letters back on the mail queue. A letter is selected when `ids` names it
 * (its SQS message id or job id), or when `all` or a `filter` is given and it matches the filter
 * and its body is a valid job: a job the DLQ holds because its body is invalid would only be
 * dead-lettered again, so it goes back only when named by id.
 *
 * Each job is sent with its body unchanged (same job id, so the same Message-ID) and its
 * attributes less the dead-letter ones and `MailRequeueCount` (see `REDRIVE_DROPPED_ATTRIBUTES`):
 * a claim check keeps its `ExtendedPayloadSize`, so the function sizes it without a HEAD of its object;
 * to a FIFO queue in its message group (or `mail`) with a deduplication id made of the DLQ message
 * id and the body, so a redrive repeated within SQS's 5-minute window after a crash does not send
 * it twice. It is deleted from the DLQ only after the queue took it. Messages that reach the DLQ
 * after the redrive began (by their `SentTimestamp`) are left alone, so that a redriven job that
 * fails again at once is not sent round again and again.
 *
 * @throws RangeError when neither `ids`, `filter` nor `all` is given; the SQS client's error when
 *   the DLQ cannot be read (what was redriven before stays redriven)
 * @example
 * const summary = await redriveDeadLetters({ sqs, dlqUrl, queueUrl, filter: { code: '4xx' } });
 * console.log(`${summary.redriven} of ${summary.matched} back on the queue`);
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveSummary> {
  const ids = new Set(options.ids ?? []);
  const byFilter = options.all === true || (options.filter !== undefined && Object.values(options.filter).some((value) => value !== undefined));
  if (ids.size === 0 && !byFilter) throw new RangeError('say what to redrive: ids, a filter, or all');
  const dryRun = options.dryRun === true;
  const summary: RedriveSummary = {
    examined: 0,
    matched: 0,
    redriven: 0,
    skippedInvalid: [],
    notDeleted: [],
    notSent: [],
    notFound: [],
    letters: [],
    dryRun,
  };
  const named = new Set<string>();
  const held: Message[] = [];
  let total = await depthOf(options.sqs, options.dlqUrl);
  // Only what was in the DLQ before the redrive began: a redriven job that fails again comes back
  // as a new message (same job id) while the scan goes on, and must not be sent round again.
  const startedAt = Date.now();
  try {
    const scan = scanQueue(options.sqs, options.dlqUrl, {
      visibilitySeconds: HOLD_SECONDS,
      ...(options.max === undefined ? {} : { max: options.max }),
      ...(options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds }),
    });
    for await (const batch of scan) {
      const chosen: { message: Message; letter: DeadLetter }[] = [];
      for (const message of batch) {
        const letter = readDeadLetter(message);
        if (letter.sentAt.getTime() > startedAt) {
          held.push(message);
          continue;
        }
        const byId = [letter.messageId, letter.jobId].filter((id): id is string => id !== undefined && ids.has(id));
        for (const id of byId) named.add(id);
        const matches = byId.length > 0 || (byFilter && matchesFilter(letter, options.filter));
        if (!matches) {
          held.push(message);
          continue;
        }
        summary.matched += 1;
        if (letter.invalid && byId.length === 0) {
          summary.skippedInvalid.push(letter);
          held.push(message);
          continue;
        }
        summary.letters.push(letter);
        if (dryRun) held.push(message);
        else chosen.push({ message, letter });
      }
      if (chosen.length > 0) held.push(...(await moveToQueue(options, chosen, summary)));
      summary.examined += batch.length;
      total = Math.max(total, summary.examined);
      options.onProgress?.(summary.examined, total);
    }
  } finally {
    await releaseMessages(options.sqs, options.dlqUrl, held);
  }
  summary.notFound = [...ids].filter((id) => !named.has(id));
  summary.letters = summary.letters
    .map((letter) => ({ letter }))
    .sort(newestFirst)
    .map(({ letter }) => letter);
  return summary;
}

/** Sends each chosen message to the queue, then deletes from the DLQ those the queue took; returns the messages still held. */
async function moveToQueue(options: RedriveOptions, chosen: { message: Message; letter: DeadLetter }[], summary: RedriveSummary): Promise<Message[]> {
  const send = async (entry: { message: Message; letter: DeadLetter }): Promise<boolean> => {
    try {
      await options.sqs.send(new SendMessageCommand(redriveCopy(options.queueUrl, entry.message, entry.letter)));
      return true;
    } catch (error) {
      summary.notSent.push({ letter: entry.letter, reason: describe(error) });
      return false;
    }
  };
  // A FIFO queue keeps the order of a group's jobs only if they are sent one after the other.
  const sent: boolean[] = [];
  if (options.queueUrl.endsWith('.fifo')) for (const entry of chosen) sent.push(await send(entry));
  else sent.push(...(await Promise.all(chosen.map(send))));
  const taken = chosen.filter((_, index) => sent[index]);
  const left = chosen.filter((_, index) => !sent[index]).map((entry) => entry.message);
  if (taken.length === 0) return left;
  let failures: Map<number, string>;
  try {
    const reply = await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.dlqUrl,
        Entries: taken.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.message.ReceiptHandle ?? '' })),
      }),
    );
    failures = new Map((reply.Failed ?? []).map((failure) => [Number(failure.Id), `${failure.Code ?? 'refused'}: ${failure.Message ?? ''}`]));
  } catch (error) {
    failures = new Map(taken.map((_, index) => [index, describe(error)]));
  }
  taken.forEach((entry, index) => {
    const failure = failures.get(index);
    if (failure === undefined) {
      summary.redriven += 1;
    } else {
      summary.notDeleted.push({ letter: entry.letter, reason: failure });
      left.push(entry.message);
    }
  });
  return left;
}

/** The SendMessage request that puts a dead letter back on the queue. */
function redriveCopy(queueUrl: string, message: Message, letter: DeadLetter): ConstructorParameters<typeof SendMessageCommand>[0] {
  const body = message.Body ?? '';
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (REDRIVE_DROPPED_ATTRIBUTES.has(name)) continue;
    attributes[name] = {
      DataType: value.DataType,
      ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
      ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
    };
  }
  const fifo = queueUrl.endsWith('.fifo')
    ? {
        MessageGroupId: letter.messageGroupId ?? 'mail',
        MessageDeduplicationId: `redrive-${createHash('sha256').update(`${letter.messageId}\n`).update(body).digest('hex')}`,
      }
    : {};
  return { QueueUrl: queueUrl, MessageBody: body, ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}), ...fifo };
}

async function depthOf(sqs: SQSClient, url: string): Promise<number> {
  const reply = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(reply.Attributes?.ApproximateNumberOfMessages ?? 0);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
