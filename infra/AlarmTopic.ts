/**
 * An SNS topic for the product's CloudWatch alarms, encrypted with its own KMS key and open to
 * CloudWatch alone, so that alarms can notify it while nobody publishes to it in clear.
 * @module
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Props of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Display name of the topic (shown in e-mail notifications).
   * @default 'outbound-mail alarms'
   */
  readonly displayName?: string;
}

/**
 * An encrypted SNS topic that CloudWatch alarms of this account and region can publish to.
 *
 * Alarms cannot publish to a topic encrypted with the AWS-managed `alias/aws/sns` key, so the
 * topic gets a customer-managed key (rotated yearly) whose policy lets CloudWatch use it.
 * Publishing requires TLS. Subscribe people or tools to {@link AlarmTopic.topic} after deploying.
 *
 * @example
 * ```ts
 * const alarms = new AlarmTopic(stack, 'Alarms');
 * new OutboundMail(stack, 'Mail', { smtpSecret, alarmTopic: alarms.topic });
 * ```
 */
export class AlarmTopic extends Construct {
  /** The topic the alarms notify. */
  readonly topic: Topic;
  /** The key that encrypts the topic's messages at rest. */
  readonly key: Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');

    this.key = new Key(this, 'Key', {
      description: 'Encrypts the outbound-mail alarm topic; usable by CloudWatch alarms',
      enableKeyRotation: true,
    });
    this.key.grant(cloudWatch, 'kms:Decrypt', 'kms:GenerateDataKey*');

    this.topic = new Topic(this, 'Topic', {
      displayName: props.displayName ?? 'outbound-mail alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
  }
}
