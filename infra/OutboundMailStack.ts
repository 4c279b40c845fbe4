/**
 * One deployment of the product: an {@link OutboundMail} for one environment of `cdk.json`,
 * with its relay secret, its optional alarm topic, tags and outputs.
 * @module
 */
import { CfnOutput, Duration, RemovalPolicy, Size, Stack, Tags } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AlarmTopic } from './AlarmTopic.js';
import type { EnvironmentConfig } from './config.js';
import { ENVIRONMENTS_CONTEXT_KEY } from './config.js';
import { deploymentPropsOf } from './deploymentConfig.js';
import { InvalidEnvironmentConfigError, InvalidOutboundMailPropsError } from './errors.js';
import { OutboundMail } from './OutboundMail.js';
import type { OutboundMailProps } from './OutboundMail.js';

/** Props of {@link OutboundMailStack}. */
export interface OutboundMailStackProps extends Omit<StackProps, 'env'> {
  /** The environment to deploy, from `cdk.json`; gives the stack its account and region. */
  readonly environment: EnvironmentConfig;
}

/** The `cdk.json` setting behind each construct prop, to name it when the construct refuses a value. */
const CONFIG_KEY_OF_PROP: Readonly<Partial<Record<keyof OutboundMailProps, keyof EnvironmentConfig>>> = {
  smtpSecret: 'secretCompleteArn',
  mailPerConnection: 'mailPerConnection',
  maxConnections: 'maxConnections',
  maxRecipientsPerMessage: 'maxRecipientsPerMessage',
  memorySize: 'memorySize',
  ephemeralStorageSize: 'ephemeralStorageMiB',
  timeout: 'timeoutSeconds',
  maxReceiveCount: 'maxReceiveCount',
  maxBatchingWindow: 'maxBatchingWindowSeconds',
  visibilityTimeout: 'visibilityTimeoutSeconds',
  fifo: 'fifo',
  oldestMessageAgeAlarm: 'oldestMessageAgeAlarmSeconds',
  logRetention: 'logRetentionDays',
  allowedRecipients: 'allowedRecipients',
  relayCa: 'relayCaFile',
};

/**
 * The stack of one environment. Its name is `OutboundMail-<environment>`, its account and region
 * those of the environment, and its outputs the queues' URLs, names and ARNs, the function's name,
 * the dashboard's name and URL, the claim-check bucket's name, and the alarm topic's ARN (when there
 * is one). The output keys are stable: `mail-queue --stack` reads `QueueUrl`, `DeadLetterQueueUrl`
 * and `PayloadBucketName`.
 *
 * @throws {@link InvalidEnvironmentConfigError} naming the `cdk.json` key when the environment's
 *   values contradict each other (e.g. `environments.prod.visibilityTimeoutSeconds`).
 * @example
 * ```ts
 * const app = new App();
 * new OutboundMailStack(app, 'OutboundMail-dev', { environment: parseEnvironments(ctx).dev! });
 * ```
 */
export class OutboundMailStack extends Stack {
  /** The pipeline: queue, dead-letter queue, function and alarms. */
  readonly mail: OutboundMail;
  /** The topic the alarms notify, when the environment has one. */
  readonly alarmTopic: ITopic | undefined;

  constructor(scope: Construct, id: string, props: OutboundMailStackProps) {
    const { environment, ...stackProps } = props;
    super(scope, id, {
      description: `Outbound mail (${environment.name}): SQS mail jobs delivered over SMTP by a Lambda`,
      ...stackProps,
      env: { account: environment.account, region: environment.region },
    });
    Tags.of(this).add('project', 'outbound-mail');
    Tags.of(this).add('environment', environment.name);

    const smtpSecret = Secret.fromSecretCompleteArn(this, 'SmtpSecret', environment.secretCompleteArn);
    if (environment.alarmTopicArn !== undefined) {
      this.alarmTopic = Topic.fromTopicArn(this, 'AlarmTopic', environment.alarmTopicArn);
    } else if (environment.createAlarmTopic === true) {
      this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { displayName: `outbound-mail ${environment.name} alarms` }).topic;
    } else {
      this.alarmTopic = undefined;
    }

    this.mail = buildOutboundMail(this, environment, () => ({
      smtpSecret,
      environmentName: environment.name,
      mailPerConnection: environment.mailPerConnection,
      maxConnections: environment.maxConnections,
      ...optional('maxRecipientsPerMessage', environment.maxRecipientsPerMessage),
      memorySize: environment.memorySize,
      ...optional(
        'ephemeralStorageSize',
        environment.ephemeralStorageMiB === undefined ? undefined : Size.mebibytes(environment.ephemeralStorageMiB),
      ),
      timeout: Duration.seconds(environment.timeoutSeconds),
      ...optional('maxReceiveCount', environment.maxReceiveCount),
      ...optional('maxBatchingWindow', seconds(environment.maxBatchingWindowSeconds)),
      ...optional('visibilityTimeout', seconds(environment.visibilityTimeoutSeconds)),
      ...optional('fifo', environment.fifo),
      ...optional('oldestMessageAgeAlarm', seconds(environment.oldestMessageAgeAlarmSeconds)),
      ...optional('logRetention', environment.logRetentionDays),
      ...optional('alarmTopic', this.alarmTopic),
      ...optional('allowedRecipients', environment.allowedRecipients),
      ...deploymentPropsOf(this, environment),
      ledgerRemovalPolicy: environment.ledgerRemovalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    }));

    new CfnOutput(this, 'QueueUrl', {
      value: this.mail.queue.queueUrl,
      description: 'Producers send mail jobs here',
      exportName: `${this.stackName}-QueueUrl`,
    });
    new CfnOutput(this, 'QueueArn', { value: this.mail.queue.queueArn, exportName: `${this.stackName}-QueueArn` });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.mail.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { value: this.mail.deadLetterQueue.queueArn });
    new CfnOutput(this, 'QueueName', { value: this.mail.queue.queueName });
    new CfnOutput(this, 'DeadLetterQueueName', { value: this.mail.deadLetterQueue.queueName });
    new CfnOutput(this, 'PayloadBucketName', {
      value: this.mail.payloads.bucket.bucketName,
      description: 'Producers put mail jobs over 256 KiB under payloads/ here (claim check)',
      exportName: `${this.stackName}-PayloadBucketName`,
    });
    new CfnOutput(this, 'DashboardName', { value: this.mail.dashboard.dashboardName });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${environment.region}.console.aws.amazon.com/cloudwatch/home?region=${environment.region}#dashboards/dashboard/${this.mail.dashboard.dashboardName}`,
      description: 'The dashboard of this environment',
    });
    new CfnOutput(this, 'FunctionName', { value: this.mail.sendMailFunction.functionName });
    new CfnOutput(this, 'LedgerTableName', { value: this.mail.ledger.table.tableName, description: 'The delivery ledger (DynamoDB)' });
    if (this.alarmTopic !== undefined) {
      new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Subscribe to receive the alarms' });
    }
  }
}

function buildOutboundMail(stack: Stack, environment: EnvironmentConfig, props: () => OutboundMailProps): OutboundMail {
  try {
    return new OutboundMail(stack, 'Mail', props());
  } catch (error) {
    if (!(error instanceof InvalidOutboundMailPropsError)) throw error;
    const key = CONFIG_KEY_OF_PROP[error.prop as keyof OutboundMailProps];
    const path = `${ENVIRONMENTS_CONTEXT_KEY}.${environment.name}`;
    throw key === undefined
      ? new InvalidEnvironmentConfigError(path, `gives OutboundMail an invalid ${error.prop}: ${error.problem}`)
      : new InvalidEnvironmentConfigError(`${path}.${key}`, `${error.problem} (OutboundMail ${error.prop})`);
  }
}

function seconds(value: number | undefined): Duration | undefined {
  return value === undefined ? undefined : Duration.seconds(value);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
