/**
 * The cdk-nag findings an `OutboundMail` acknowledges because they do not apply to its design,
 * each with its reason (recorded in the construct tree, shown in cdk-nag's report and kept for
 * audits).
 * @module
 */
import { Validations } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { CfnEventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

/** The resources whose findings are acknowledged. */
export interface AcknowledgedResources {
  readonly deadLetterQueue: IQueue;
  readonly sendMailFunction: IFunction;
}

/**
 * Acknowledges the four findings that do not apply: X-Ray's `Resource: "*"` on the function's
 * role, no DLQ behind the dead-letter queue, no Lambda DLQ for a function SQS invokes
 * synchronously, and no on-failure destination on an SQS event source mapping.
 * @example
 * acknowledgeOutboundMailNagFindings(mail, role);
 */
export function acknowledgeOutboundMailNagFindings(resources: AcknowledgedResources, role: IRole): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
      'permissions, so AWS requires Resource "*" for them; so do, for a function in a VPC, the EC2 network-interface ' +
      'actions Lambda needs to attach it (those of AWSLambdaVPCAccessExecutionRole); every other statement names its resource.',
  });
  Validations.of(resources.deadLetterQueue).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason:
      'This queue is the dead-letter queue: a DLQ behind it would only move the problem. It keeps jobs 14 days; ' +
      'they are read and redriven with mail-queue dlq, an alarm notifies on each arrival and another before the oldest expires.',
  });
  Validations.of(resources.sendMailFunction).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason:
      'The function is invoked only by its SQS event source mapping, synchronously; a Lambda DLQ serves ' +
      "asynchronous invocations. Failed jobs go to the queue's own dead-letter queue (redrive policy), " +
      'and permanent failures are sent there by the function itself.',
  });
  const mapping = resources.sendMailFunction.node.findAll().find((child) => child instanceof CfnEventSourceMapping);
  if (mapping !== undefined) {
    Validations.of(mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'SQS event source mappings have no on-failure destination (that is for streams and Kafka); ' +
        "the queue's redrive policy moves a job to the dead-letter queue after maxReceiveCount receives.",
    });
  }
}
