/**
 * Where `mail-queue send` and `bulk` publish: the queue (and the claim-check bucket for jobs over
 * 256 KiB) read from a CloudFormation stack's outputs, given by URL, or the local run's
 * (`npm start`) when nothing is given.
 * @module
 */
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { stackPublishTarget } from '../../operate/findQueues.js';
import { createMailQueue } from '../createMailQueue.js';
import { LOCAL_RUN_DIR, readLocalRunState } from '../localRun.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../queueMessage.js';
import type { MailQueue } from '../types.js';
import { failed, usage, UsageError, type CliIo } from './cliIo.js';
import { localRunClients } from './localRunClients.js';

/** The flags of {@link withPublishTarget}. */
export interface PublishTargetFlags {
  queueUrl?: string;
  stack?: string;
  endpoint?: string;
  region?: string;
  payloadBucket?: string;
  maxMessageBytes?: string;
}

/** Adds the flags of {@link PublishTargetFlags} to a command. */
export function withPublishTarget(command: Command): Command {
  return command
    .option('--queue-url <url>', 'SQS queue URL (default: $MAIL_QUEUE_URL, then $QUEUE_URL, then the local run)')
    .option(
      '--stack <name>',
      "read the queue and the claim-check bucket from a stack's outputs (QueueUrl, PayloadBucketName), e.g. OutboundMail-prod",
    )
    .option('--endpoint <url>', 'SQS endpoint URL (default: $AWS_ENDPOINT_URL_SQS, else AWS)')
    .option('--region <region>', 'AWS region (default: from the queue URL, else the AWS settings)')
    .option(
      '--payload-bucket <name>',
      "S3 bucket for jobs over 256 KiB (claim check, key payloads/<uuid>; default: the stack's PayloadBucketName with --stack, else $MAIL_PAYLOAD_BUCKET, else the local run's; S3 endpoint: $AWS_ENDPOINT_URL_S3)",
    )
    .option('--max-message-bytes <octets>', `largest job taken, as JSON (default: ${DEFAULT_MAX_MESSAGE_BYTES})`);
}

/**
 * The queue to publish to: `--stack` (CloudFormation `DescribeStacks`: `QueueUrl`, and
 * `PayloadBucketName` unless `--payload-bucket` is given), else `--queue-url` or its environment
 * variables, else the local run's state file (its queue and bucket).
 * @returns the queue, or the exit status when it cannot be opened (the reason is on stderr)
 */
export async function openPublishQueue(flags: PublishTargetFlags, io: CliIo): Promise<MailQueue | number> {
  if (flags.stack !== undefined) {
    const region = flags.region ?? given(io.env.AWS_REGION);
    const cloudFormation = new CloudFormationClient(region === undefined ? {} : { region });
    let target;
    try {
      target = await stackPublishTarget(cloudFormation, flags.stack);
    } catch (error) {
      return failed(io, error);
    } finally {
      cloudFormation.destroy();
    }
    return awsQueue(flags, target.queueUrl, flags.payloadBucket ?? target.payloadBucket, io);
  }
  const queueUrl = given(flags.queueUrl) ?? given(io.env.MAIL_QUEUE_URL) ?? given(io.env.QUEUE_URL);
  if (queueUrl !== undefined) return awsQueue(flags, queueUrl, flags.payloadBucket ?? given(io.env.MAIL_PAYLOAD_BUCKET), io);
  const local = await readLocalRunState(path.resolve(io.cwd ?? process.cwd(), LOCAL_RUN_DIR));
  if (local === undefined) {
    return usage(io, new UsageError('no queue URL: give --queue-url or --stack, or set MAIL_QUEUE_URL (or start the local run with npm start)'));
  }
  io.stderr.write(`mail-queue: no queue URL given: using the local run's queue (npm start, pid ${local.pid}) ${local.queueUrl}\n`);
  const { sqs: client, s3: s3Client } = localRunClients(local, flags, { requestChecksumCalculation: 'WHEN_REQUIRED' });
  try {
    return createMailQueue({ queueUrl: local.queueUrl, client, ...sizeOptions(flags, flags.payloadBucket ?? local.payloadBucket), s3Client });
  } catch (error) {
    return usage(io, error);
  }
}

/**
 * A queue on AWS (or an endpoint given): the region from the URL unless given; the SQS endpoint,
 * when given (flag or environment), wins over the URL's host (which for a local emulator may not
 * resolve; the SDK alone would prefer the URL's host to AWS_ENDPOINT_URL_SQS). S3 in the same
 * region, at `AWS_ENDPOINT_URL_S3` (path-style) when set.
 */
function awsQueue(flags: PublishTargetFlags, queueUrl: string, payloadBucket: string | undefined, io: CliIo): MailQueue | number {
  const region = flags.region ?? /^https?:\/\/sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1];
  const endpoint = flags.endpoint ?? given(io.env.AWS_ENDPOINT_URL_SQS) ?? given(io.env.AWS_ENDPOINT_URL);
  const s3Endpoint = given(io.env.AWS_ENDPOINT_URL_S3);
  try {
    const options = sizeOptions(flags, payloadBucket);
    const client = new SQSClient({ ...(endpoint === undefined ? {} : { endpoint }), ...(region === undefined ? {} : { region }) });
    const s3Client =
      options.payloadBucket === undefined
        ? undefined
        : new S3Client({
            ...(region === undefined ? {} : { region }),
            ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint, forcePathStyle: true }),
            requestChecksumCalculation: 'WHEN_REQUIRED',
          });
    return createMailQueue({ queueUrl, client, ...options, ...(s3Client === undefined ? {} : { s3Client }) });
  } catch (error) {
    return usage(io, error);
  }
}

/** The claim-check options from the flags. @throws {UsageError} for a malformed --max-message-bytes */
function sizeOptions(flags: PublishTargetFlags, payloadBucket: string | undefined): { payloadBucket?: string; maxMessageBytes?: number } {
  const max = flags.maxMessageBytes === undefined ? undefined : Number(flags.maxMessageBytes);
  if (max !== undefined && !(Number.isInteger(max) && max > 0))
    throw new UsageError(`--max-message-bytes must be a positive integer, not ${flags.maxMessageBytes}`);
  return { ...(payloadBucket === undefined ? {} : { payloadBucket }), ...(max === undefined ? {} : { maxMessageBytes: max }) };
}

function given(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
