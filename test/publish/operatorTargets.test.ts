import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_RUN_STATE_FILE, type LocalRunState } from '../../lib/publish/localRun.js';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../support/cloudFormationStandIn.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';
import { deadLetterByHandler, jobBody, NO_SUCH_USER } from '../operate/deadLetterQueue.js';
import { runCli } from './runCli.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mail-queue-operator-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A queue with one ready job, one in flight and one delayed; a DLQ with one dead letter. */
async function busyQueues() {
  const queues = await emulator().createMailQueues();
  await deadLetterByHandler(emulator(), queues, jobBody('order-1', ['nobody@example.org']), NO_SUCH_USER, { jobId: 'order-1' });
  await queues.publish([jobBody('a', ['ann@example.com']), jobBody('b', ['bob@example.com'])]);
  await emulator().sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }));
  await emulator().sqs.send(
    new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: jobBody('c', ['carol@example.com']), DelaySeconds: 600 }),
  );
  return queues;
}

const age = (text: string) => text.replace(/oldest {11}\d+s$/m, 'oldest           AGE');

describe('mail-queue stats', () => {
  it('prints the depths of both queues and the age of the oldest dead letter', async () => {
    const queues = await busyQueues();

    const run = await runCli(['stats', '--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl], {
      env: { AWS_ENDPOINT_URL_SQS: emulator().endpoint },
    });

    expect(run.code).toBe(0);
    expect(age(run.stdout)).toBe(
      [
        'queues of the given URLs',
        `mail queue         ${queues.queueUrl}`,
        '  ready            1',
        '  in flight        1',
        '  delayed          1',
        '  oldest           not in the SQS API (CloudWatch ApproximateAgeOfOldestMessage)',
        `dead-letter queue  ${queues.dlqUrl}`,
        '  ready            1',
        '  in flight        0',
        '  delayed          0',
        '  oldest           AGE',
        '',
      ].join('\n'),
    );
    expect((await queues.contents(queues.dlqName)).inflight).toEqual([]);
  });

  it("prints JSON with --json, and finds the DLQ through the queue's redrive policy", async () => {
    const queues = await busyQueues();

    const run = await runCli(['stats', '--json', '--queue-url', queues.queueUrl], { env: { AWS_ENDPOINT_URL_SQS: emulator().endpoint } });

    expect(JSON.parse(run.stdout)).toEqual({
      queueUrl: queues.queueUrl,
      queue: { ready: 1, inFlight: 1, delayed: 1 },
      dlqUrl: queues.dlqUrl,
      dlq: { ready: 1, inFlight: 0, delayed: 0 },
      deadLettersSeen: 1,
      oldestDeadLetterAgeSeconds: expect.any(Number),
    });
  });
});

describe('which queues: the local run, --stack, or nothing', () => {
  it('with no flags uses the local run of the working folder', async () => {
    const queues = await busyQueues();
    const state: LocalRunState = {
      pid: process.pid,
      sqsEndpoint: emulator().endpoint,
      region: 'us-east-1',
      queueUrl: queues.queueUrl,
      dlqUrl: queues.dlqUrl,
      smtpPort: 2525,
      webUrl: 'http://127.0.0.1:8025',
      mailDir: join(dir, 'mail'),
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    await mkdir(join(dir, '.local'), { recursive: true });
    await writeFile(join(dir, '.local', LOCAL_RUN_STATE_FILE), JSON.stringify(state));

    const run = await runCli(['dlq', 'list', '--json'], { cwd: dir });

    expect(run.stderr).toBe(`mail-queue: no queue given: using the local run's queues (npm start, pid ${process.pid})\n`);
    expect((JSON.parse(run.stdout) as { jobId: string }[]).map((letter) => letter.jobId)).toEqual(['order-1']);
  });

  it('with no flags and no local run, says what to give', async () => {
    const run = await runCli(['dlq', 'list'], { cwd: join(dir, 'nowhere') });
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'mail-queue: no queue: give --queue-url, --dlq-url or --stack, or set MAIL_QUEUE_URL (or start the local run with npm start)\n',
    });
  });

  describe('--stack', () => {
    let cloudFormation: CloudFormationStandIn;
    let saved: string | undefined;
    beforeAll(() => {
      saved = process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'];
    });
    afterAll(async () => {
      if (saved === undefined) Reflect.deleteProperty(process.env, 'AWS_ENDPOINT_URL_CLOUDFORMATION');
      else process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'] = saved;
      await cloudFormation.close();
    });

    it("reads the queues from the stack's outputs QueueUrl and DeadLetterQueueUrl", async () => {
      const queues = await busyQueues();
      cloudFormation = await startCloudFormationStandIn({
        'OutboundMail-prod': { QueueUrl: queues.queueUrl, QueueArn: queues.queueArn, DeadLetterQueueUrl: queues.dlqUrl, FunctionName: 'send-mail' },
        'OutboundMail-old': { QueueUrl: queues.queueUrl },
      });
      process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'] = cloudFormation.endpoint;
      const env = { AWS_ENDPOINT_URL_SQS: emulator().endpoint };

      const stats = await runCli(['stats', '--stack', 'OutboundMail-prod'], { env });
      const list = await runCli(['dlq', 'list', '--json', '--stack', 'OutboundMail-prod'], { env });
      const missing = await runCli(['stats', '--stack', 'OutboundMail-test'], { env });
      const partial = await runCli(['stats', '--stack', 'OutboundMail-old'], { env });

      expect(stats.code).toBe(0);
      expect(stats.stdout.split('\n').slice(0, 3)).toEqual([
        'queues of stack OutboundMail-prod',
        `mail queue         ${queues.queueUrl}`,
        '  ready            1',
      ]);
      expect((JSON.parse(list.stdout) as { jobId: string }[]).map((letter) => letter.jobId)).toEqual(['order-1']);
      expect(missing).toEqual({ code: 1, stdout: '', stderr: 'mail-queue: ValidationError: Stack with id OutboundMail-test does not exist\n' });
      expect(partial).toEqual({
        code: 1,
        stdout: '',
        stderr: 'mail-queue: StackOutputError: stack OutboundMail-old has no output DeadLetterQueueUrl\n',
      });
      expect(cloudFormation.actions).toEqual(['DescribeStacks', 'DescribeStacks', 'DescribeStacks', 'DescribeStacks']);
    });
  });
});
