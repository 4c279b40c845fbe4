/**
 * What an organisation's deployment adds to an `OutboundMail`: the function inside the relay's
 * VPC with a security group of its own, the decrypt grant on the relay secret's customer key,
 * producers from other accounts in the queue's policy, and SSM parameters naming the queue.
 * Plain functions adding to the construct's own scope, so the construct stays readable.
 * @module
 */
import { Stack, Token } from 'aws-cdk-lib';
import { Peer, Port, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { allowedRecipientsProblem } from './allowedRecipients.js';
import { InvalidOutboundMailPropsError } from './errors.js';
import type { OutboundMailProps } from './outboundMailProps.js';

/** The relay port opened by default: submission with STARTTLS. */
export const DEFAULT_RELAY_PORTS: readonly number[] = [587];

/** The function's network placement, for the Lambda function's props. */
export interface FunctionNetwork {
  readonly vpc: IVpc;
  readonly vpcSubnets?: SubnetSelection;
  readonly securityGroups: ISecurityGroup[];
}

/** The EC2 actions Lambda needs on the execution role to attach a function to a VPC. */
export const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

function fail(prop: string, problem: string): never {
  throw new InvalidOutboundMailPropsError(prop, problem);
}

/**
 * Checks the deployment props that stand on their own (the rest is in outboundMailSettings.ts).
 * @throws {@link InvalidOutboundMailPropsError} naming the prop at fault.
 */
export function checkDeploymentProps(props: OutboundMailProps): void {
  if (props.vpc === undefined) {
    for (const prop of ['vpcSubnets', 'securityGroups', 'relayPorts', 'relayPeer', 'awsApiPeer'] as const) {
      if (props[prop] !== undefined) fail(prop, 'is only for a function in a VPC: give vpc as well');
    }
  }
  if (props.securityGroups !== undefined) {
    if (props.securityGroups.length === 0) fail('securityGroups', 'must hold at least one security group (leave it out for the default one)');
    for (const prop of ['relayPorts', 'relayPeer', 'awsApiPeer'] as const) {
      if (props[prop] !== undefined) fail(prop, "shapes the default security group's egress; with securityGroups, set the egress on those groups");
    }
  }
  if (props.relayPorts !== undefined) {
    if (props.relayPorts.length === 0) fail('relayPorts', 'must hold at least one port');
    for (const port of props.relayPorts) {
      if (Token.isUnresolved(port) || !Number.isInteger(port) || port < 1 || port > 65_535) {
        fail('relayPorts', `must be TCP ports from 1 to 65535, got ${String(port)}`);
      }
    }
  }
  if (props.allowedRecipients !== undefined) {
    const problem = allowedRecipientsProblem(props.allowedRecipients);
    if (problem !== undefined) fail('allowedRecipients', problem);
  }
  const ca = props.relayCa?.source;
  if (ca?.kind === 'secret' && ca.secret.secretFullArn === undefined) {
    fail('relayCa', 'must reference its secret by its complete ARN (Secret.fromSecretCompleteArn), so that the read grant names exactly one secret');
  }
  if (props.parameterPrefix !== undefined && props.parameterPrefix !== false && !/^(?:\/[A-Za-z0-9_.-]+)+$/.test(props.parameterPrefix)) {
    fail('parameterPrefix', `must be an SSM path like /outbound-mail/prod (letters, digits, "_", ".", "-"), got "${props.parameterPrefix}"`);
  }
}

/**
 * The function's place in the VPC, with the default security group when none is given: no
 * inbound rule, egress to the relay's ports and to 443 for AWS's APIs only. Adds to `role` the EC2
 * actions Lambda needs to attach the function (they support no resource-level permissions).
 *
 * @returns undefined when the function is not in a VPC.
 */
export function functionNetwork(scope: Construct, props: OutboundMailProps, role: IRole): FunctionNetwork | undefined {
  const vpc = props.vpc;
  if (vpc === undefined) return undefined;
  let securityGroups = props.securityGroups === undefined ? undefined : [...props.securityGroups];
  if (securityGroups === undefined) {
    const group = new SecurityGroup(scope, 'FunctionSecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'send-mail Lambda: no inbound; outbound to the SMTP relay and to AWS APIs (443) only',
    });
    const relayPeer = props.relayPeer ?? Peer.anyIpv4();
    for (const port of props.relayPorts ?? DEFAULT_RELAY_PORTS) group.addEgressRule(relayPeer, Port.tcp(port), `SMTP relay (${port})`);
    group.addEgressRule(props.awsApiPeer ?? Peer.anyIpv4(), Port.tcp(443), 'AWS APIs: SQS, Secrets Manager, DynamoDB, SSM, X-Ray');
    securityGroups = [group];
  }
  role.addToPrincipalPolicy(new PolicyStatement({ actions: [...VPC_ACCESS_ACTIONS], resources: ['*'] }));
  return { vpc, securityGroups, ...(props.vpcSubnets === undefined ? {} : { vpcSubnets: props.vpcSubnets }) };
}

/**
 * Lets `role` decrypt with the relay secret's customer managed key, through Secrets Manager only.
 */
export function grantSecretKeyDecrypt(props: OutboundMailProps, role: IRole): void {
  const key = props.smtpSecretKey;
  if (key === undefined) return;
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(role).region}.amazonaws.com` } },
    }),
  );
}

/** The actions producers are given on the queue: send, and find the queue. */
export const PRODUCER_ACTIONS = ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'] as const;

/** Adds the producers from other accounts to the queue's resource policy. */
export function allowProducers(queue: IQueue, props: OutboundMailProps): void {
  const producers = props.producers;
  if (producers === undefined || producers.length === 0) return;
  queue.addToResourcePolicy(
    new PolicyStatement({ sid: 'Producers', principals: [...producers], actions: [...PRODUCER_ACTIONS], resources: [queue.queueArn] }),
  );
}

/** The SSM parameters a producer looks up: the queue, and the claim-check bucket for jobs over the offload threshold. */
export interface QueueParameters {
  readonly queueUrl: StringParameter;
  readonly queueArn: StringParameter;
  /** `<prefix>/payload-bucket`: the bucket's name, `createMailQueue`'s `payloadBucket`. */
  readonly payloadBucket: StringParameter;
}

/**
 * Writes the queue's URL and ARN and the claim-check bucket's name to SSM under `prefix`
 * (`<prefix>/queue-url`, `<prefix>/queue-arn`, `<prefix>/payload-bucket`).
 * @returns undefined when `prefix` is false.
 */
export function addQueueParameters(scope: Construct, queue: IQueue, payloadBucket: IBucket, prefix: string | false): QueueParameters | undefined {
  if (prefix === false) return undefined;
  return {
    payloadBucket: new StringParameter(scope, 'PayloadBucketParameter', {
      parameterName: `${prefix}/payload-bucket`,
      stringValue: payloadBucket.bucketName,
      description: 'Outbound mail: producers put mail jobs over 256 KiB under payloads/ of this S3 bucket (claim check)',
    }),
    queueUrl: new StringParameter(scope, 'QueueUrlParameter', {
      parameterName: `${prefix}/queue-url`,
      stringValue: queue.queueUrl,
      description: 'Outbound mail: producers send mail jobs to this SQS queue URL',
    }),
    queueArn: new StringParameter(scope, 'QueueArnParameter', {
      parameterName: `${prefix}/queue-arn`,
      stringValue: queue.queueArn,
      description: 'Outbound mail: the mail queue ARN, for producers IAM policies',
    }),
  };
}
