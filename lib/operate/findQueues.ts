/**
 * Finding an environment's queues: the DLQ of a mail queue from its redrive policy, or both
 * queues from the outputs of its CloudFormation stack.
 * @module
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** The stack outputs (infra/OutboundMailStack.ts) that hold the queues' URLs. */
export const STACK_OUTPUTS = { queueUrl: 'QueueUrl', dlqUrl: 'DeadLetterQueueUrl' } as const;

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
  const reply = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const stack = reply.Stacks?.[0];
  if (stack === undefined) throw new StackOutputError(`no stack ${stackName}`);
  const output = (key: string): string => {
    const value = stack.Outputs?.find((entry) => entry.OutputKey === key)?.OutputValue;
    if (value === undefined || value === '') throw new StackOutputError(`stack ${stackName} has no output ${key}`);
    return value;
  };
  return { queueUrl: output(STACK_OUTPUTS.queueUrl), dlqUrl: output(STACK_OUTPUTS.dlqUrl) };
}
