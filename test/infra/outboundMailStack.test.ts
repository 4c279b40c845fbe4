/**
 * Every environment of `cdk.json`, synthesised once (as `cdk synth` would, without bundling), and
 * checked property by property against its configuration, against cdk-nag, and against a snapshot.
 */
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironments } from '../../infra/config.js';
import type { EnvironmentConfig } from '../../infra/config.js';
import { addOutboundMailStacks, nagPacks, stackNameOf } from '../../infra/outboundMailApp.js';
import type { OutboundMailStack } from '../../infra/OutboundMailStack.js';
import { STACK_OUTPUTS } from '../../lib/operate/findQueues.js';
import { cdkContext, cdkEnvironmentNames, testApp, withStableAssetHashes } from '../support/cdkApp.js';

interface Synthesized {
  stack: OutboundMailStack;
  template: Template;
  json: Record<string, unknown>;
}

const environments = parseEnvironments(cdkContext()['environments']);
const synthesized = new Map<string, Synthesized>();

beforeAll(() => {
  // Prepare: one app with every environment, synthesised once for all the assertions below.
  const app = testApp();
  const stacks = addOutboundMailStacks(app);
  const assembly = app.synth();
  for (const stack of stacks) {
    const json = assembly.getStackArtifact(stack.artifactId).template as Record<string, unknown>;
    synthesized.set(stack.stackName, { stack, template: Template.fromJSON(json), json });
  }
});

function logicalId(construct: IConstruct): string {
  const element = construct.node.defaultChild as CfnElement;
  return element.stack.getLogicalId(element);
}

function getAtt(construct: IConstruct, attribute: string): unknown {
  return { 'Fn::GetAtt': [logicalId(construct), attribute] };
}

function ref(construct: IConstruct): unknown {
  return { Ref: logicalId(construct) };
}

function policyStatements(template: Template): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement,
  );
}

function sortedStatements(statements: Record<string, unknown>[]): string[] {
  return statements.map((statement) => JSON.stringify(statement)).sort();
}

function acknowledgedRules(stack: Stack): Map<string, string> {
  const rules = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        rules.set(`${construct.node.path} ${id}`, reason);
      }
    }
  }
  return rules;
}

it('synthesises one stack per environment of cdk.json, named after it', () => {
  expect([...synthesized.keys()]).toEqual(cdkEnvironmentNames().map(stackNameOf));
  expect(cdkEnvironmentNames()).toEqual(expect.arrayContaining(['dev', 'staging', 'prod']));
});

describe.each(cdkEnvironmentNames())('environment %s', (name) => {
  const environment = environments[name] as EnvironmentConfig;
  const expected = {
    maxReceiveCount: environment.maxReceiveCount ?? 5,
    visibilityTimeout: environment.visibilityTimeoutSeconds ?? 6 * environment.timeoutSeconds + (environment.maxBatchingWindowSeconds ?? 0),
    logRetentionDays: environment.logRetentionDays ?? 30,
    oldestMessageAge: environment.oldestMessageAgeAlarmSeconds ?? 1800,
  };
  const get = (): Synthesized => synthesized.get(stackNameOf(name)) as Synthesized;

  it('deploys to the account and region of its environment', () => {
    const { stack, json } = get();
    expect(stack.account).toBe(environment.account);
    expect(stack.region).toBe(environment.region);
    expect(JSON.stringify(json)).not.toContain('AWS::AccountId');
  });

  it('encrypts the mail queue, caps messages at 1 MiB, redrives to the DLQ and waits 6 function timeouts', () => {
    const { stack, template } = get();
    const { queue, deadLetterQueue } = stack.mail;
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResource('AWS::SQS::Queue', {
      Properties: {
        QueueName: queue.queueName.startsWith('${') ? Match.anyValue() : queue.queueName,
        SqsManagedSseEnabled: true,
        MaximumMessageSize: 1_048_576,
        VisibilityTimeout: expected.visibilityTimeout,
        MessageRetentionPeriod: 4 * 24 * 3600,
        RedrivePolicy: { deadLetterTargetArn: getAtt(deadLetterQueue, 'Arn'), maxReceiveCount: expected.maxReceiveCount },
        FifoQueue: environment.fifo === true ? true : Match.absent(),
        KmsMasterKeyId: Match.absent(),
      },
    });
    expect(expected.visibilityTimeout).toBeGreaterThanOrEqual(6 * environment.timeoutSeconds);
  });

  it('keeps dead letters 14 days, encrypted, and takes redrives from its source queue only', () => {
    const { stack, template } = get();
    const resources = (template.toJSON() as { Resources: Record<string, { Properties: { QueueName: string } }> }).Resources;
    const queueName = resources[logicalId(stack.mail.queue)]?.Properties.QueueName;
    expect(queueName).toMatch(/^[A-Za-z0-9_-]+$/);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `${queueName}-dlq`,
      SqsManagedSseEnabled: true,
      MaximumMessageSize: 1_048_576,
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedrivePolicy: Match.absent(),
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: [`arn:aws:sqs:${environment.region}:${environment.account}:${queueName}`],
      },
    });
  });

  it('refuses requests without TLS on both queues', () => {
    const { stack, template } = get();
    for (const queue of [stack.mail.queue, stack.mail.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(queue)],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: getAtt(queue, 'Arn'),
            },
          ],
        },
      });
    }
  });

  it('runs the function on Node 24, ARM64, with X-Ray, JSON logs into its own log group, and its settings', () => {
    const { stack, template } = get();
    const { mail } = stack;
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: environment.memorySize,
      EphemeralStorage: { Size: environment.ephemeralStorageMiB ?? 1024 },
      Timeout: environment.timeoutSeconds,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(mail.logGroup) },
      ReservedConcurrentExecutions: Match.absent(),
      Role: getAtt(mail.sendMailFunction.role as IConstruct, 'Arn'),
      Environment: {
        Variables: Match.objectEquals({
          SMTP_SECRET_ID: environment.secretCompleteArn,
          MAIL_PER_CONNECTION: String(environment.mailPerConnection),
          QUEUE_URL: ref(mail.queue),
          DLQ_URL: ref(mail.deadLetterQueue),
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_METRICS_NAMESPACE: 'OutboundMail',
          MAIL_ENVIRONMENT: name,
          MAIL_MAX_RECEIVES: String(expected.maxReceiveCount),
          MAIL_LEDGER_TABLE: ref(mail.ledger.table),
          MAIL_PAYLOAD_BUCKET: ref(mail.payloads.bucket),
          // The ephemeral storage less 112 MiB for the runtime's own files.
          MAIL_SPOOL_BYTES: String(((environment.ephemeralStorageMiB ?? 1024) - 112) * 1024 * 1024),
          MAIL_LEDGER_TTL_SECONDS: String((4 + 14) * 24 * 3600),
          ...(environment.allowedRecipients === undefined ? {} : { MAIL_ALLOWED_RECIPIENTS: environment.allowedRecipients.join(',') }),
        }),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: expected.logRetentionDays });
  });

  it('feeds the function batches of the per-connection count, at most the connection limit at once, with partial failures', () => {
    const { stack, template } = get();
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(stack.mail.queue, 'Arn'),
      FunctionName: ref(stack.mail.sendMailFunction),
      BatchSize: environment.mailPerConnection,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: environment.maxConnections },
      MaximumBatchingWindowInSeconds: environment.maxBatchingWindowSeconds ?? Match.absent(),
    });
  });

  it('gives the function exactly what it needs and nothing on "*" but X-Ray', () => {
    const { stack, template } = get();
    const { mail } = stack;
    template.resourceCountIs('AWS::IAM::Role', 1);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      },
      ManagedPolicyArns: Match.absent(),
      Policies: Match.absent(),
    });
    expect(sortedStatements(policyStatements(template))).toEqual(
      sortedStatements([
        { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' },
        {
          Action: [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
            'sqs:SendMessage',
          ],
          Effect: 'Allow',
          Resource: getAtt(mail.queue, 'Arn'),
        },
        {
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Effect: 'Allow',
          Resource: getAtt(mail.deadLetterQueue, 'Arn'),
        },
        {
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Effect: 'Allow',
          Resource: environment.secretCompleteArn,
        },
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: getAtt(mail.logGroup, 'Arn') },
        { Action: 'dynamodb:UpdateItem', Effect: 'Allow', Resource: getAtt(mail.ledger.table, 'Arn') },
        // Claim checks: read and delete under payloads/ of this environment's bucket, nothing else.
        {
          Action: ['s3:DeleteObject', 's3:GetObject'],
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', [getAtt(mail.payloads.bucket, 'Arn'), '/payloads/*']] },
        },
      ]),
    );
  });

  it('alarms on arrivals in the DLQ, a dead letter near expiry, an old job, a failing function, or an unusable relay', () => {
    const { stack, template } = get();
    const { mail } = stack;
    const actions =
      environment.alarmTopicArn !== undefined
        ? [environment.alarmTopicArn]
        : environment.createAlarmTopic === true
          ? [ref(stack.node.findChild('AlarmTopic').node.findChild('Topic'))]
          : undefined;
    const notify =
      actions === undefined ? { AlarmActions: Match.absent(), OKActions: Match.absent() } : { AlarmActions: actions, OKActions: actions };
    const common = {
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      ...notify,
    };
    const own = [
      { Name: 'Environment', Value: name },
      { Name: 'service', Value: 'send-mail' },
    ];
    // And the delivery ledger's two alarms (asserted in deliveryLedger.test.ts).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5 + 2);
    // Each arrival, however it came (replayed against timelines in deadLetterAlarms.test.ts).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      AlarmName: `OutboundMail-${name}-DeadLetterArrivals`,
      Threshold: 0,
      Metrics: [
        { Id: 'expr_1', Expression: 'MAX([FILL(deadLettered, 0), DIFF(FILL(depth, 0))])', Label: 'Jobs arriving in the dead-letter queue' },
        {
          Id: 'deadLettered',
          ReturnData: false,
          MetricStat: { Metric: { Namespace: 'OutboundMail', MetricName: 'DeadLettered', Dimensions: own }, Period: 300, Stat: 'Sum' },
        },
        {
          Id: 'depth',
          ReturnData: false,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateNumberOfMessagesVisible',
              Dimensions: [{ Name: 'QueueName', Value: getAtt(mail.deadLetterQueue, 'QueueName') }],
            },
            Period: 300,
            Stat: 'Maximum',
          },
        },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      AlarmName: `OutboundMail-${name}-DeadLettersExpiring`,
      Period: 300,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(mail.deadLetterQueue, 'QueueName') }],
      Statistic: 'Maximum',
      Threshold: (environment.fifo === true ? 14 - 2 : 14 - 4 - 2) * 24 * 3600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      AlarmName: `OutboundMail-${name}-OldestMessageAge`,
      Period: 300,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(mail.queue, 'QueueName') }],
      Statistic: 'Maximum',
      Threshold: expected.oldestMessageAge,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      AlarmName: `OutboundMail-${name}-FunctionErrors`,
      Period: 300,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: ref(mail.sendMailFunction) }],
      Statistic: 'Sum',
      Threshold: 0,
    });
    // The function's own EMF metric (Powertools: service "send-mail", Environment): batches it could not send at all.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      AlarmName: `OutboundMail-${name}-SystemicFailures`,
      Period: 300,
      Namespace: 'OutboundMail',
      MetricName: 'SystemicFailures',
      Dimensions: own,
      Statistic: 'Sum',
      Threshold: 0,
    });
  });

  it('creates an encrypted, TLS-only alarm topic only when asked to', () => {
    const { stack, template } = get();
    if (environment.createAlarmTopic !== true) {
      template.resourceCountIs('AWS::SNS::Topic', 0);
      template.resourceCountIs('AWS::KMS::Key', 0);
      return;
    }
    const alarmTopic = stack.node.findChild('AlarmTopic');
    const key = alarmTopic.node.findChild('Key');
    const topic = alarmTopic.node.findChild('Topic');
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Resource: '*',
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: getAtt(key, 'Arn') });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(topic)],
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          {
            Sid: 'AllowCloudWatchAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: ref(topic),
            Condition: {
              StringEquals: { 'aws:SourceAccount': environment.account },
              ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${environment.region}:${environment.account}:alarm:*` },
            },
          },
        ],
      },
    });
  });

  it("outputs the queues' URLs, ARNs and names, the claim-check bucket, the function name, the ledger table name and the dashboard, under stable keys", () => {
    const { stack, template } = get();
    template.hasOutput('QueueUrl', { Value: ref(stack.mail.queue) });
    template.hasOutput('QueueArn', { Value: getAtt(stack.mail.queue, 'Arn') });
    template.hasOutput('QueueName', { Value: getAtt(stack.mail.queue, 'QueueName') });
    template.hasOutput('DeadLetterQueueUrl', { Value: ref(stack.mail.deadLetterQueue) });
    template.hasOutput('DeadLetterQueueArn', { Value: getAtt(stack.mail.deadLetterQueue, 'Arn') });
    template.hasOutput('DeadLetterQueueName', { Value: getAtt(stack.mail.deadLetterQueue, 'QueueName') });
    template.hasOutput('DashboardName', { Value: ref(stack.mail.dashboard) });
    template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            `https://${environment.region}.console.aws.amazon.com/cloudwatch/home?region=${environment.region}#dashboards/dashboard/`,
            ref(stack.mail.dashboard),
          ],
        ],
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `OutboundMail-${name}` });
    // The keys `mail-queue --stack OutboundMail-<environment>` reads with DescribeStacks.
    template.hasOutput(STACK_OUTPUTS.queueUrl, { Value: ref(stack.mail.queue) });
    template.hasOutput(STACK_OUTPUTS.dlqUrl, { Value: ref(stack.mail.deadLetterQueue) });
    template.hasOutput(STACK_OUTPUTS.payloadBucket, { Value: ref(stack.mail.payloads.bucket) });
    template.hasOutput('FunctionName', { Value: ref(stack.mail.sendMailFunction) });
    template.hasOutput('LedgerTableName', { Value: ref(stack.mail.ledger.table) });
    if (environment.alarmTopicArn === undefined && environment.createAlarmTopic !== true) {
      expect(template.findOutputs('AlarmTopicArn')).toEqual({});
    }
  });

  it('passes the cdk-nag AwsSolutions and Serverless packs, acknowledging only the findings that do not apply (four, and two of the claim-check bucket), with reasons', () => {
    const { stack } = get();
    for (const pack of nagPacks()) {
      const report = pack.validateScope(stack);
      expect(report.violations, `${pack.name} findings`).toEqual([]);
      expect(report.success).toBe(true);
    }
    const acknowledged = acknowledgedRules(stack);
    const underMail = [...acknowledged.keys()].map((key) => key.replace(`${stackNameOf(name)}/Mail/`, '')).sort();
    expect(underMail).toEqual([
      'DeadLetterQueue Annotation::Serverless-SQSRedrivePolicy',
      'FunctionRole Annotation::AwsSolutions-IAM5[Resource::*]',
      expect.stringMatching(/^FunctionRole Annotation::AwsSolutions-IAM5\[Resource::<MailPayloadsBucket\w+\.Arn>\/payloads\/\*\]$/),
      'Payloads/Bucket Annotation::AwsSolutions-S1',
      'SendMail Annotation::Serverless-LambdaDLQ',
      expect.stringMatching(/^SendMail\/SqsEventSource:\w+\/Resource Annotation::Serverless-LambdaEventSourceMappingDestination$/),
    ]);
    for (const reason of acknowledged.values()) expect(reason.length).toBeGreaterThan(80);
  });

  it('matches its snapshot (asset hashes replaced)', async () => {
    const { json } = get();
    await expect(`${JSON.stringify(withStableAssetHashes(json), null, 2)}\n`).toMatchFileSnapshot(
      `./__snapshots__/${stackNameOf(name)}.template.json`,
    );
  });
});
