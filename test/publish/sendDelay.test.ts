/**
 * `mail-queue send --delay`: 90, 90s, 5m, up to 15m, as the job's delaySeconds, which SQS applies.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { parseDelay } from '../../lib/publish/cli/delay.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';
import { runCli } from './runCli.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();

describe('mail-queue send --delay', () => {
  it.each([
    ['0', 0],
    ['90', 90],
    ['90s', 90],
    ['5m', 300],
    ['15m', 900],
    ['900', 900],
  ])('takes %s as %i seconds', (text, seconds) => {
    expect(parseDelay(text)).toBe(seconds);
  });

  it.each(['16m', '901', '1h', '-5', '5.5m', '', 'm', '5 m'])('refuses %j', (text) => {
    expect(() => parseDelay(text)).toThrow(/must be seconds or minutes up to 15m/);
  });

  it('publishes the job with delaySeconds; SQS holds it (not receivable at once); a bad value exits 2 and sends nothing', async () => {
    const queues = await emulator().createMailQueues({});
    const env = { AWS_ENDPOINT_URL_SQS: emulator().endpoint };
    const args = ['send', '--queue-url', queues.queueUrl, '--to', 'ann@example.com', '--subject', 'Later', '--text', 'x'];
    const bad = await runCli([...args, '--delay', '20m'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--delay "20m" must be seconds or minutes up to 15m/);
    const run = await runCli([...args, '--delay', '5m'], { env });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const contents = await queues.contents(queues.queueName);
    expect(contents.ready).toEqual([]);
    expect(contents.delayed).toHaveLength(1);
    expect(JSON.parse(contents.delayed[0]?.body ?? '{}')).toMatchObject({ delaySeconds: 300, subject: 'Later' });
    const delayUntil = contents.delayed[0]?.delayUntil ?? 0;
    expect(delayUntil - Date.now()).toBeGreaterThan(290_000);
    const { Messages = [] } = await emulator().sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 0 }));
    expect(Messages).toEqual([]);
  });
});
