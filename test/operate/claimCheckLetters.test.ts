/**
 * The operator library on claim-check dead letters: a listing reads at most `maxClaimChecks` jobs
 * from S3 (newest first), the others stay `not read` with the size their message announced; a
 * copy naming some recipients shows their domains only; no S3 client: nothing is read.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { findDeadLetters, listDeadLetters } from '../../lib/operate/index.js';
import { claimCheckLines } from '../../lib/publish/cli/deadLetterText.js';
import { emulatorS3Client } from '../support/claimCheckRig.js';
import { useSqsEmulator, type MailQueues } from '../support/sqsQueues.js';
import { deadLetterByHandler, deadLetterBySqs, NO_SUCH_USER } from './deadLetterQueue.js';

const emulator = useSqsEmulator();
const BUCKET = 'payloads-operate';
let s3: S3Client;
let queues: MailQueues;

const job = (id: string, to: string[]) => JSON.stringify({ v: 1, id, to, subject: `Job ${id}`, text: 'x' });

beforeAll(async () => {
  s3 = emulatorS3Client(emulator().endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  queues = await emulator().createMailQueues({ maxReceiveCount: 1 });
  for (const id of ['p-1', 'p-2']) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `payloads/${id}`, Body: job(id, ['ann@example.com', 'bob@example.org']) }));
  }
  // Moved by SQS after too many receives: the producer's ExtendedPayloadSize goes with it (the handler's copies do not carry it).
  await deadLetterBySqs(emulator(), queues, payloadPointerBody({ bucket: BUCKET, key: 'payloads/p-1' }), { ExtendedPayloadSize: '99' });
  // A copy for the recipient refused for now only (the function's re-enqueued pointer names it).
  await deadLetterByHandler(
    emulator(),
    queues,
    payloadPointerBody({ bucket: BUCKET, key: 'payloads/p-2', recipients: ['bob@example.org'] }),
    NO_SUCH_USER,
  );
});

afterAll(() => {
  s3.destroy();
});

describe('claim-check dead letters', () => {
  it('reads at most maxClaimChecks of them, newest first; the rest stay not read, with the announced size', async () => {
    const letters = await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, s3, maxClaimChecks: 1, waitSeconds: 0 });

    expect(
      letters.map((letter) => [letter.jobId, letter.subject, letter.recipientDomains, letter.claimCheck?.state, letter.claimCheck?.bytes]),
    ).toEqual([
      ['p-2', 'Job p-2', ['example.org'], 'read', expect.any(Number)],
      [undefined, undefined, [], 'not read', 99],
    ]);
    expect(claimCheckLines(letters).split('\n')[2]).toBe(
      `  ${letters[1]!.messageId}  s3://${BUCKET}/payloads/p-1, 99 octets: not read (a listing reads 25 at most: dlq show <id> reads it)`,
    );
  });

  it('reads none without an S3 client, and every one that dlq show finds', async () => {
    const unread = await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, waitSeconds: 0 });
    const [found] = await findDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, id: unread[1]!.messageId, s3, waitSeconds: 0 });

    expect(unread.map((letter) => letter.claimCheck?.state)).toEqual(['not read', 'not read']);
    expect(found?.letter).toMatchObject({ jobId: 'p-1', recipientDomains: ['example.com', 'example.org'], claimCheck: { state: 'read' } });
    expect(found?.offloaded?.input).toMatchObject({ id: 'p-1', subject: 'Job p-1' });
    expect(claimCheckLines([])).toBe('');
  });
});
