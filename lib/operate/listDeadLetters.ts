/**
 * Looking at the dead-letter queue without taking anything out of it.
 * @module
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { parsePayloadPointer } from '../message/payloadPointer.js';
import { readClaimCheck } from './claimCheck.js';
import type { OffloadedJob } from './claimCheck.js';
import { applyClaimCheck, matchesFilter, readDeadLetter } from './deadLetter.js';
import { releaseMessages, scanQueue } from './scanQueue.js';
import type { DeadLetter, DeadLetterFilter } from './types.js';

/** Messages a listing looks at unless told otherwise. */
export const DEFAULT_LIST_MAX = 1000;
/** Claim checks a listing reads from S3 unless told otherwise (each object may be 40 MB; `dlq show` reads any one). */
export const DEFAULT_CLAIM_CHECKS_READ = 25;

/** Where claim checks (bodies that point at the job in S3) are read, and how many at most. */
export interface ClaimCheckReading {
  /** The S3 client; absent: claim checks are not read (their state stays `not read`). */
  s3?: Pick<S3Client, 'send'>;
  /** Claim checks read at most, newest letters first; the others stay `not read`. @default 25 for a listing, all for {@link findDeadLetters} */
  maxClaimChecks?: number;
}
/** Seconds a listed message is hidden at most (it is given back as soon as the listing ends). */
const PEEK_VISIBILITY_SECONDS = 30;

/** Options of {@link listDeadLetters}. */
export interface ListDeadLettersOptions extends ClaimCheckReading {
  sqs: SQSClient;
  dlqUrl: string;
  /** Messages of the DLQ to look at, at most. @default 1000 */
  max?: number;
  filter?: DeadLetterFilter;
  /** Long polling of each receive (see {@link ScanOptions.waitSeconds}). @default 1 */
  waitSeconds?: number;
}

/**
 * The dead letters that match the filter, newest first. Reads without consuming: the messages
 * are received (hidden for at most 30 s, one more on each one's receive count) and made visible
 * again as soon as the listing ends, even when it fails. A FIFO DLQ shows the first message of
 * each message group only: SQS hands out no other message of a group while one is received.
 * With `s3`, the jobs of claim-check letters are then read from S3 (after the messages are given
 * back; bounded memory, one at a time, see claimCheck.ts), at most `maxClaimChecks` of them.
 *
 * @throws the SQS client's error when the DLQ cannot be read (e.g. `QueueDoesNotExist`)
 * @example
 * const letters = await listDeadLetters({ sqs: new SQSClient({}), dlqUrl, filter: { code: '5xx' } });
 * for (const letter of letters) console.log(letter.jobId, letter.reason?.message);
 */
export async function listDeadLetters(options: ListDeadLettersOptions): Promise<DeadLetter[]> {
  const found = await peekDeadLetters(options, (letter) => matchesFilter(letter, options.filter));
  await readClaimChecks(found, options.s3, options.maxClaimChecks ?? DEFAULT_CLAIM_CHECKS_READ);
  return found.map(({ letter }) => letter);
}

/** A dead letter with its body, as {@link findDeadLetters} returns it. */
export interface FoundDeadLetter {
  letter: DeadLetter;
  body: string;
  /** A claim check's job, when it was read. */
  offloaded?: OffloadedJob;
}

/**
 * The dead letters whose SQS message id or job id is `id`, with their bodies, newest first
 * (a job dead-lettered twice, or in several parts, has several). Reads without consuming, as
 * {@link listDeadLetters} does.
 * @example
 * const [found] = await findDeadLetters({ sqs, dlqUrl, id: 'order-1234' });
 */
export async function findDeadLetters(
  options: {
    sqs: SQSClient;
    dlqUrl: string;
    id: string;
    max?: number;
    waitSeconds?: number;
  } & ClaimCheckReading,
): Promise<FoundDeadLetter[]> {
  const found = await peekDeadLetters(options, (letter) => letter.messageId === options.id || letter.jobId === options.id);
  await readClaimChecks(found, options.s3, options.maxClaimChecks ?? Number.POSITIVE_INFINITY);
  return found;
}

/** Reads the claim checks of the letters found, newest first, at most `max`, one at a time. */
async function readClaimChecks(found: FoundDeadLetter[], s3: Pick<S3Client, 'send'> | undefined, max: number): Promise<void> {
  if (s3 === undefined) return;
  let read = 0;
  for (const entry of found) {
    const pointer = entry.letter.claimCheck === undefined ? undefined : parsePayloadPointer(entry.body);
    if (pointer === undefined || read >= max) continue;
    read += 1;
    const { claimCheck, job } = await readClaimCheck(s3, pointer);
    applyClaimCheck(entry.letter, claimCheck, job, pointer);
    if (job !== undefined) entry.offloaded = job;
  }
}

async function peekDeadLetters(
  options: { sqs: SQSClient; dlqUrl: string; max?: number; waitSeconds?: number },
  wanted: (letter: DeadLetter) => boolean,
): Promise<FoundDeadLetter[]> {
  const held: Message[] = [];
  const found: FoundDeadLetter[] = [];
  try {
    const scan = scanQueue(options.sqs, options.dlqUrl, {
      visibilitySeconds: PEEK_VISIBILITY_SECONDS,
      max: options.max ?? DEFAULT_LIST_MAX,
      ...(options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds }),
    });
    for await (const batch of scan) {
      held.push(...batch);
      for (const message of batch) {
        const letter = readDeadLetter(message);
        if (wanted(letter)) found.push({ letter, body: message.Body ?? '' });
      }
    }
  } finally {
    await releaseMessages(options.sqs, options.dlqUrl, held);
  }
  return found.sort(newestFirst);
}

/** Orders by `sentAt`, newest first; ties by message id, so the order is stable. */
export function newestFirst(a: { letter: DeadLetter }, b: { letter: DeadLetter }): number {
  return b.letter.sentAt.getTime() - a.letter.sentAt.getTime() || a.letter.messageId.localeCompare(b.letter.messageId);
}
