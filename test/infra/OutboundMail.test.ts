/**
 * The OutboundMail construct on its own (as a team would embed it in its stack) and the app's
 * handling of cdk.json: defaults, the FIFO variant, producer grants, and every contradiction
 * refused at synth with the prop or cdk.json key at fault.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { InvalidEnvironmentConfigError, InvalidOutboundMailPropsError, UnknownEnvironmentError } from '../../infra/errors.js';
import { OutboundMail } from '../../infra/OutboundMail.js';
import type { OutboundMailProps } from '../../infra/OutboundMail.js';
import { addOutboundMailStacks, nagPacks } from '../../infra/outboundMailApp.js';
import { cdkContext, testApp } from '../support/cdkApp.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq';

/** A team's own stack with a relay secret, in a test app that skips bundling. */
function teamStack(): Stack {
  return new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
}

function mailIn(stack: Stack, props: Partial<OutboundMailProps> = {}): OutboundMail {
  const smtpSecret = Secret.fromSecretCompleteArn(stack, `Relay${stack.node.children.length}`, SECRET_ARN);
  return new OutboundMail(stack, 'Mail', { smtpSecret, ...props });
}

function refusal(props: Partial<OutboundMailProps>): InvalidOutboundMailPropsError {
  try {
    mailIn(teamStack(), props);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOutboundMailPropsError);
    return error as InvalidOutboundMailPropsError;
  }
  throw new Error(`accepted ${Object.keys(props).join(', ')}`);
}

describe('OutboundMail defaults', () => {
  const stack = teamStack();
  const mail = mailIn(stack);
  const template = Template.fromStack(stack);

  it('sends 10 per connection, at most 2 connections, no batching window', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
      MaximumBatchingWindowInSeconds: Match.absent(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 256,
      Timeout: 60,
      Environment: { Variables: Match.objectLike({ MAIL_PER_CONNECTION: '10', SMTP_SECRET_ID: SECRET_ARN }) },
    });
  });

  it('waits 6 x 60 s before a job is visible again, retries 5 times, keeps jobs 4 days and logs 30 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      MessageRetentionPeriod: 345_600,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('alarms on jobs older than 30 minutes, and notifies nobody without a topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 1800 });
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm).not.toHaveProperty('Properties.AlarmActions');
    }
  });

  it('exposes the queue, the dead-letter queue, the function and the alarms', () => {
    expect(mail.queue.fifo).toBe(false);
    expect(mail.deadLetterQueue.node.path).toBe('TeamStack/Mail/DeadLetterQueue');
    expect(mail.sendMailFunction.runtime.name).toBe('nodejs24.x');
    expect(Object.keys(mail.alarms).sort()).toEqual([
      'deadLetterArrivals',
      'deadLettersExpiring',
      'functionErrors',
      'oldestMessageAge',
      'systemicFailures',
    ]);
  });
});

describe('OutboundMail options', () => {
  it('builds the FIFO variant: both queues FIFO, the DLQ named after its source, no batching window, nag-clean', () => {
    const stack = teamStack();
    mailIn(stack, { fifo: true, queueName: 'orders-mail.fifo', mailPerConnection: 10 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'orders-mail.fifo',
      FifoQueue: true,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'orders-mail-dlq.fifo',
      FifoQueue: true,
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: ['arn:aws:sqs:eu-west-1:123456789012:orders-mail.fifo'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
    for (const pack of nagPacks()) expect(pack.validateScope(stack).violations).toEqual([]);
  });

  it('gives a standard queue a fixed name and its DLQ the same name with -dlq', () => {
    const stack = teamStack();
    mailIn(stack, { queueName: 'orders-mail' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'orders-mail', FifoQueue: Match.absent() });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'orders-mail-dlq',
      RedriveAllowPolicy: Match.objectLike({ sourceQueueArns: ['arn:aws:sqs:eu-west-1:123456789012:orders-mail'] }),
    });
  });

  it('adds the batching window to the default visibility timeout and passes it to the event source', () => {
    const stack = teamStack();
    mailIn(stack, { mailPerConnection: 100, maxBatchingWindow: Duration.seconds(5), timeout: Duration.seconds(30) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 6 * 30 + 5, RedrivePolicy: Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 100, MaximumBatchingWindowInSeconds: 5 });
  });

  it('accepts a visibility timeout of exactly 6 function timeouts', () => {
    const stack = teamStack();
    mailIn(stack, { timeout: Duration.seconds(90), visibilityTimeout: Duration.seconds(540) });
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 540, RedrivePolicy: Match.anyValue() });
  });

  it('notifies a given topic on alarm and on recovery', () => {
    const stack = teamStack();
    const topic = new Topic(stack, 'Ops');
    mailIn(stack, { alarmTopic: topic });
    const template = Template.fromStack(stack);
    const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as never) };
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5 + 2); // the pipeline's, and the delivery ledger's
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({ Properties: { AlarmActions: [topicRef], OKActions: [topicRef] } });
    }
  });

  it('grantPublish lets a producer send jobs to the queue and put claim checks under payloads/ of its bucket, nothing else', () => {
    const stack = teamStack();
    const mail = mailIn(stack);
    const producer = new Role(stack, 'Producer', { assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com') });
    mail.grantPublish(producer);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(producer.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: [
          {
            Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [stack.getLogicalId(mail.queue.node.defaultChild as never), 'Arn'] },
          },
          {
            Action: 's3:PutObject',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': ['', [{ 'Fn::GetAtt': [stack.getLogicalId(mail.payloads.bucket.node.defaultChild as never), 'Arn'] }, '/payloads/*']],
            },
          },
        ],
      },
    });
  });
});

describe('OutboundMail recipients per message', () => {
  it('sets MAIL_MAX_RECIPIENTS only when maxRecipientsPerMessage is given', () => {
    const limited = teamStack();
    mailIn(limited, { maxRecipientsPerMessage: 50 });
    Template.fromStack(limited).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAIL_MAX_RECIPIENTS: '50', MAIL_PER_CONNECTION: '10' }) },
    });
    const unlimited = teamStack();
    mailIn(unlimited);
    const variables = Object.values(Template.fromStack(unlimited).findResources('AWS::Lambda::Function')).map(
      (fn) => (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables ?? {},
    );
    expect(variables.filter((v) => 'MAIL_PER_CONNECTION' in v)).toHaveLength(1);
    expect(variables.some((v) => 'MAIL_MAX_RECIPIENTS' in v)).toBe(false);
  });
});

describe('OutboundMail refuses contradictory props at synth', () => {
  it.each<[string, Partial<OutboundMailProps>, string, string]>([
    [
      'a visibility timeout under 6 function timeouts',
      { timeout: Duration.seconds(60), visibilityTimeout: Duration.seconds(359) },
      'visibilityTimeout',
      'must be at least 6 x the function timeout (6 x 60 s = 360 s), got 359 s',
    ],
    [
      'a batching window on a FIFO queue',
      { fifo: true, maxBatchingWindow: Duration.seconds(1) },
      'maxBatchingWindow',
      'is not supported on a FIFO queue',
    ],
    ['more than 10 per batch on a FIFO queue', { fifo: true, mailPerConnection: 11 }, 'mailPerConnection', 'must be an integer from 1 to 10'],
    [
      'more than 10 per batch on a standard queue without a batching window',
      { mailPerConnection: 11 },
      'maxBatchingWindow',
      'must be at least 1 second when mailPerConnection is over 10',
    ],
    [
      'a zero batching window with more than 10 per batch',
      { mailPerConnection: 20, maxBatchingWindow: Duration.seconds(0) },
      'maxBatchingWindow',
      'must be at least 1 second',
    ],
    [
      'more than 1000 per batch',
      { mailPerConnection: 1001, maxBatchingWindow: Duration.seconds(1) },
      'mailPerConnection',
      'must be an integer from 1 to 1000',
    ],
    ['no mail per connection', { mailPerConnection: 0 }, 'mailPerConnection', 'got 0'],
    ['a fractional batch size', { mailPerConnection: 2.5 }, 'mailPerConnection', 'got 2.5'],
    ['maxReceiveCount under 1', { maxReceiveCount: 0 }, 'maxReceiveCount', 'must be an integer from 1 to 1000'],
    ['one connection (SQS needs at least 2)', { maxConnections: 1 }, 'maxConnections', 'must be an integer from 2 to 1000'],
    ['more than 1000 connections', { maxConnections: 1001 }, 'maxConnections', 'must be an integer from 2 to 1000'],
    ['a timeout over 15 minutes', { timeout: Duration.seconds(901) }, 'timeout', 'must be an integer from 1 to 900'],
    ['less than 128 MiB', { memorySize: 64 }, 'memorySize', 'must be an integer from 128 to 10240'],
    [
      'a batching window over 5 minutes',
      { mailPerConnection: 50, maxBatchingWindow: Duration.seconds(301) },
      'maxBatchingWindow',
      'must be an integer from 0 to 300',
    ],
    ['a visibility timeout over 12 hours', { visibilityTimeout: Duration.hours(13) }, 'visibilityTimeout', 'must be an integer from 0 to 43200'],
    [
      'a retention too short for the retries',
      { maxReceiveCount: 10, retentionPeriod: Duration.minutes(60) },
      'retentionPeriod',
      '10 receives (maxReceiveCount), each hiding the job',
    ],
    ["a retention as long as the DLQ's", { retentionPeriod: Duration.days(14) }, 'retentionPeriod', "shorter than the dead-letter queue's 14 days"],
    [
      'an age alarm that can never fire',
      { maxReceiveCount: 1, retentionPeriod: Duration.hours(2), oldestMessageAgeAlarm: Duration.hours(2) },
      'oldestMessageAgeAlarm',
      'shorter than retentionPeriod',
    ],
    ['a FIFO queue name without .fifo', { fifo: true, queueName: 'orders-mail' }, 'queueName', 'must end in ".fifo" on a FIFO queue'],
    ['a queue name with a dot', { queueName: 'orders.mail' }, 'queueName', 'must be 1 to 76 letters, digits'],
    ['a queue name too long for its DLQ', { queueName: 'q'.repeat(77) }, 'queueName', 'must be 1 to 76'],
    ['no recipients per message', { maxRecipientsPerMessage: 0 }, 'maxRecipientsPerMessage', 'must be an integer from 1 to 1000'],
    [
      'more recipients per message than the function takes',
      { maxRecipientsPerMessage: 1001 },
      'maxRecipientsPerMessage',
      'must be an integer from 1 to 1000',
    ],
  ])('refuses %s', (_what, props, prop, problem) => {
    const error = refusal(props);
    expect(error.prop).toBe(prop);
    expect(error.message.startsWith(`OutboundMail: ${prop} `)).toBe(true);
    expect(error.message).toContain(problem);
  });

  it('refuses a secret not referenced by its complete ARN', () => {
    const stack = teamStack();
    const smtpSecret = Secret.fromSecretNameV2(stack, 'ByName', 'relay');
    expect(() => new OutboundMail(stack, 'Mail', { smtpSecret })).toThrow(
      'OutboundMail: smtpSecret must be referenced by its complete ARN (Secret.fromSecretCompleteArn)',
    );
  });
});

describe('the app and cdk.json', () => {
  it('synthesises only the environment named by -c env', () => {
    const stacks = addOutboundMailStacks(testApp({ env: 'prod' }));
    expect(stacks.map((stack) => stack.stackName)).toEqual(['OutboundMail-prod']);
  });

  it('refuses an unknown environment, naming it', () => {
    expect(() => addOutboundMailStacks(testApp({ env: 'qa' }))).toThrow(UnknownEnvironmentError);
    expect(() => addOutboundMailStacks(testApp({ env: 'qa' }))).toThrow('Unknown environment "qa"');
  });

  it('refuses an environment with a missing value, naming the key', () => {
    const context = cdkContext();
    const environments = context['environments'] as Record<string, Record<string, unknown>>;
    delete environments['staging']?.['timeoutSeconds'];
    expect(() => addOutboundMailStacks(testApp(context))).toThrow('cdk.json context "environments.staging.timeoutSeconds" is missing');
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['visibilityTimeoutSeconds', { visibilityTimeoutSeconds: 300 }, 'must be at least 6 x the function timeout', 'visibilityTimeout'],
    [
      'maxBatchingWindowSeconds',
      { fifo: true, maxBatchingWindowSeconds: 2, mailPerConnection: 10 },
      'is not supported on a FIFO queue',
      'maxBatchingWindow',
    ],
    ['mailPerConnection', { fifo: true, mailPerConnection: 20 }, 'must be an integer from 1 to 10', 'mailPerConnection'],
    ['maxBatchingWindowSeconds', { mailPerConnection: 20 }, 'must be at least 1 second', 'maxBatchingWindow'],
    ['maxConnections', { maxConnections: 1 }, 'must be an integer from 2 to 1000', 'maxConnections'],
    ['timeoutSeconds', { timeoutSeconds: 1000 }, 'must be an integer from 1 to 900', 'timeout'],
    ['maxRecipientsPerMessage', { maxRecipientsPerMessage: 5000 }, 'must be an integer from 1 to 1000', 'maxRecipientsPerMessage'],
  ])('names environments.dev.%s when the construct refuses it', (key, changes, problem, prop) => {
    const context = cdkContext();
    const environments = context['environments'] as Record<string, Record<string, unknown>>;
    Object.assign(environments['dev'] as object, changes);
    let caught: unknown;
    try {
      addOutboundMailStacks(testApp(context));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEnvironmentConfigError);
    expect((caught as InvalidEnvironmentConfigError).key).toBe(`environments.dev.${key}`);
    expect((caught as Error).message).toContain(problem);
    expect((caught as Error).message).toContain(`(OutboundMail ${prop})`);
  });
});
