/**
 * The delivery ledger in the stack (issue 9): the DynamoDB table of each environment (on-demand,
 * TTL, point-in-time recovery, encryption, removal policy), the function's grant on that table
 * only, its settings, and the two ledger alarms; each property asserted on its own.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { LEDGER_ACTIONS } from '../../infra/DeliveryLedger.js';
import { OutboundMail } from '../../infra/OutboundMail.js';
import type { OutboundMailProps } from '../../infra/OutboundMail.js';
import { addOutboundMailStacks, nagPacks, stackNameOf } from '../../infra/outboundMailApp.js';
import { ledgerRecordLifetime } from '../../infra/outboundMailSettings.js';
import { cdkContext, testApp } from '../support/cdkApp.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq';
const DAY = 86_400;

function mailStack(props: Partial<OutboundMailProps> = {}): { stack: Stack; mail: OutboundMail; template: Template } {
  const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN);
  const mail = new OutboundMail(stack, 'Mail', { smtpSecret, ...props });
  return { stack, mail, template: Template.fromStack(stack) };
}

function logicalId(construct: IConstruct): string {
  const element = construct.node.defaultChild as CfnElement;
  return element.stack.getLogicalId(element);
}

function variablesOf(template: Template): Record<string, unknown> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
  return (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
}

describe('the delivery ledger table', () => {
  const { mail, template } = mailStack();
  const table = logicalId(mail.ledger.table);

  it('is one table keyed by the job id (a string; one item per job), with nothing else indexed', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
      GlobalSecondaryIndexes: Match.absent(),
      LocalSecondaryIndexes: Match.absent(),
      StreamSpecification: Match.absent(),
    });
  });

  it('bills on demand (no provisioned capacity)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { BillingMode: 'PAY_PER_REQUEST', ProvisionedThroughput: Match.absent() });
  });

  it('expires records on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } });
  });

  it('has point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is encrypted with the AWS-managed KMS key (aws/dynamodb), no key of its own', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: Match.absent(), KMSMasterKeyId: Match.absent() },
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('is retained, with deletion protection, by default', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });

  it('is deleted with the stack, without deletion protection, when told to', () => {
    const destroyed = mailStack({ ledgerRemovalPolicy: RemovalPolicy.DESTROY }).template;
    destroyed.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('gives the function the table name and a record lifetime of the queue retention plus the DLQ retention (4 + 14 days)', () => {
    expect(variablesOf(template)).toMatchObject({ MAIL_LEDGER_TABLE: { Ref: table }, MAIL_LEDGER_TTL_SECONDS: String(18 * DAY) });
    expect(mail.ledger.recordLifetime.toSeconds()).toBe(18 * DAY);
  });

  it('follows a longer queue retention in the record lifetime', () => {
    const longer = mailStack({ retentionPeriod: Duration.days(6) }).template;
    expect(variablesOf(longer)['MAIL_LEDGER_TTL_SECONDS']).toBe(String(20 * DAY));
    expect(ledgerRecordLifetime(Duration.hours(30)).toSeconds()).toBe(30 * 3600 + 14 * DAY);
  });

  it("lets the function use this table only, with the ledger's actions only", () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    const dynamo = statements.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo).toEqual([
      {
        Action: 'dynamodb:UpdateItem',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [table, 'Arn'] },
      },
    ]);
    expect(LEDGER_ACTIONS).toEqual(['dynamodb:UpdateItem']);
  });

  it('alarms on read and write throttle events of the table', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(reads, 0) + FILL(writes, 0)', Id: 'expr_1' }),
        {
          Id: 'reads',
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'ReadThrottleEvents', Dimensions: [{ Name: 'TableName', Value: { Ref: table } }] },
            Period: 300,
            Stat: 'Sum',
          },
        },
        {
          Id: 'writes',
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'WriteThrottleEvents', Dimensions: [{ Name: 'TableName', Value: { Ref: table } }] },
            Period: 300,
            Stat: 'Sum',
          },
        },
      ]),
    });
  });

  it('alarms when the function sends without the ledger (its LedgerUnavailable metric)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'OutboundMail',
      MetricName: 'LedgerUnavailable',
      Dimensions: Match.arrayWith([{ Name: 'service', Value: 'send-mail' }]),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(Object.keys(mail.ledgerAlarms).sort()).toEqual(['ledgerThrottles', 'ledgerUnavailable']);
  });

  it('notifies the alarm topic from both ledger alarms, on alarm and on recovery', () => {
    const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const topic = new Topic(stack, 'Ops');
    const mailWithTopic = new OutboundMail(stack, 'Mail', {
      smtpSecret: Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN),
      alarmTopic: topic,
    });
    const topicRef = { Ref: logicalId(topic) };
    const resources = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Properties: Record<string, unknown> }> };
    for (const alarm of [mailWithTopic.ledgerAlarms.ledgerThrottles, mailWithTopic.ledgerAlarms.ledgerUnavailable]) {
      expect(resources.Resources[logicalId(alarm)]?.Properties).toMatchObject({ AlarmActions: [topicRef], OKActions: [topicRef] });
    }
  });

  it('passes cdk-nag (AwsSolutions DDB3 point-in-time recovery among them) with nothing acknowledged on the ledger', () => {
    const { stack } = mailStack();
    for (const pack of nagPacks()) expect(pack.validateScope(stack).violations, pack.name).toEqual([]);
    const ledgerPath = stack.node.findChild('Mail').node.findChild('Ledger').node.path;
    for (const construct of stack.node.findAll().filter((c) => c.node.path.startsWith(ledgerPath))) {
      expect(construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)).toEqual([]);
    }
  });
});

describe('the ledger per environment of cdk.json', () => {
  const stacks = addOutboundMailStacks(testApp());
  const byName = new Map(stacks.map((stack) => [stack.stackName, Template.fromStack(stack)]));

  it.each([
    ['dev', 'Delete'],
    ['staging', 'Retain'],
    ['prod', 'Retain'],
  ])('%s: one on-demand, encrypted, recoverable table, removal policy %s', (name, policy) => {
    const template = byName.get(stackNameOf(name)) as Template;
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: policy,
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        DeletionProtectionEnabled: policy === 'Retain',
      }),
    });
    template.hasOutput('LedgerTableName', { Value: { Ref: Match.stringLikeRegexp('^MailLedgerTable') } });
  });

  it('refuses a removal policy other than retain or destroy, naming the key', () => {
    const context = cdkContext();
    Object.assign((context['environments'] as Record<string, object>)['prod'] as object, { ledgerRemovalPolicy: 'snapshot' });
    expect(() => addOutboundMailStacks(testApp(context))).toThrow(
      'cdk.json context "environments.prod.ledgerRemovalPolicy" must be "retain" or "destroy", got "snapshot"',
    );
  });
});
