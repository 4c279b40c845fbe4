/**
 * The page's Redrive button's server side on the SQS emulator: lib/operate's redriveDeadLetters
 * with the DLQ message ids the page names, and what the page is told back.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { operatorRedrive } from '../../lib/local/web/redrive.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();

describe('the Redrive button, server side', () => {
  it('puts the named dead letter back on the mail queue, body unchanged, and says which ids it did not find', async () => {
    const { sqs } = emulator();
    const queues = await emulator().createMailQueues();
    const body = JSON.stringify({ v: 1, id: 'back-1', to: 'ann@example.com', subject: 'Back', text: 'hi' });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.dlqUrl,
        MessageBody: body,
        MessageAttributes: { FailurePhase: { DataType: 'String', StringValue: 'connect' } },
      }),
    );
    const other = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.dlqUrl,
        MessageBody: JSON.stringify({ v: 1, id: 'stays', to: 'b@example.com', subject: 's', text: 't' }),
      }),
    );
    const redrive = operatorRedrive({ client: sqs, queueUrl: queues.queueUrl, dlqUrl: queues.dlqUrl });

    expect(await redrive.redrive([sent.MessageId!, 'no-such-id'])).toEqual({
      redriven: 1,
      problems: ['no-such-id: no longer in the dead-letter queue'],
    });
    const queue = await queues.contents(queues.queueName);
    expect(queue.ready.map((m) => [m.body, Object.keys(m.messageAttributes)])).toEqual([[body, []]]);
    const dlq = await queues.contents(queues.dlqName);
    expect([...dlq.ready, ...dlq.inflight.map((entry) => entry.message)].map((m) => m.messageId)).toEqual([other.MessageId]);
  });
});
