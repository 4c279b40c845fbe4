/**
 * Finding an environment's queues: the DLQ of a mail queue from its redrive policy, or both
 * queues (and the claim-check bucket) from the outputs of its CloudFormation stack.
 * @module
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** The stack outputs (infra/OutboundMailStack.ts) that hold the queues' URLs and the claim-check bucket's name. */
export const STACK_OUTPUTS = { queueUrl: 'QueueUrl', dlqUrl: 'DeadLetterQueueUrl', payloadBucket: 'PayloadBucketName' } as const;

/** A mail queue and its dead-letter queue. */
export interface MailQueueUrls {
  queueUrl: string;
  dlqUrl: string;
}

/**
 * The URL of the queue's dead-letter queue, from its `RedrivePolicy` attribute (the DLQ's ARN,
 * turned into a URL with `GetQueueUrl`), or `undefined` when the queue has no redrive policy.
 * @throws the SQS client's error when the queue cannot be read or the DLQ does not exist
 * @example
 * const dlqUrl = await deadLetterQueueOf(sqs, 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail');
 */
export async function deadLetterQueueOf(sqs: SQSClient, queueUrl: string): Promise<string | undefined> {
  const reply = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  const policy = reply.Attributes?.RedrivePolicy;
  if (policy === undefined) return undefined;
  const arn = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
  if (typeof arn !== 'string') return undefined;
  // arn:aws:sqs:<region>:<account>:<name>
  const [, , , , account, name] = arn.split(':');
  if (name === undefined || name === '') return undefined;
  const url = await sqs.send(new GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }));
  return url.QueueUrl;
}

/** The stack has no such output, or no such stack. */
export class StackOutputError extends Error {
  override readonly name = 'StackOutputError';
}

/**
 * The queues of an OutboundMail stack, from its outputs `QueueUrl` and `DeadLetterQueueUrl`
 * (CloudFormation `DescribeStacks`).
 * @throws {StackOutputError} when the stack lacks one of the outputs; the CloudFormation client's error when the stack cannot be described (e.g. it does not exist)
 * @example
 * const { queueUrl, dlqUrl } = await stackQueues(new CloudFormationClient({}), 'OutboundMail-prod');
 */
export async function stackQueues(cloudFormation: CloudFormationClient, stackName: string): Promise<MailQueueUrls> {
  const outputs = await stackOutputs(cloudFormation, stackName);
  return { queueUrl: required(outputs, stackName, STACK_OUTPUTS.queueUrl), dlqUrl: required(outputs, stackName, STACK_OUTPUTS.dlqUrl) };
}

/** Where a producer sends: the mail queue, and the claim-check bucket for jobs over the offload threshold. */
export interface PublishTarget {
  queueUrl: string;
  /** Absent on a stack deployed before the `PayloadBucketName` output existed. */
  payloadBucket?: string;
}

/**
 * The mail queue and the claim-check bucket of an OutboundMail stack, from its outputs `QueueUrl`
 * and `PayloadBucketName` (CloudFormation `DescribeStacks`), for `mail-queue send|bulk --stack`.
 * @throws {StackOutputError} when the stack lacks `QueueUrl`; the CloudFormation client's error when the stack cannot be described
 * @example
 * const { queueUrl, payloadBucket } = await stackPublishTarget(new CloudFormationClient({}), 'OutboundMail-prod');
 */
export async function stackPublishTarget(cloudFormation: CloudFormationClient, stackName: string): Promise<PublishTarget> {
  const outputs = await stackOutputs(cloudFormation, stackName);
  const payloadBucket = outputs.get(STACK_OUTPUTS.payloadBucket);
  return { queueUrl: required(outputs, stackName, STACK_OUTPUTS.queueUrl), ...(payloadBucket === undefined ? {} : { payloadBucket }) };
}

/** The stack's non-empty outputs, by key. */
async function stackOutputs(cloudFormation: CloudFormationClient, stackName: string): Promise<Map<string, string>> {
  const reply = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const stack = reply.Stacks?.[0];
  if (stack === undefined) throw new StackOutputError(`no stack ${stackName}`);
  const outputs = new Map<string, string>();
  for (const { OutputKey, OutputValue } of stack.Outputs ?? []) {
    if (OutputKey !== undefined && OutputValue !== undefined && OutputValue !== '') outputs.set(OutputKey, OutputValue);
  }
  return outputs;
}

function required(outputs: ReadonlyMap<string, string>, stackName: string, key: string): string {
  const value = outputs.get(key);
  if (value === undefined) throw new StackOutputError(`stack ${stackName} has no output ${key}`);
  return value;
}
