/**
 * Which queues an operator command works on: given by URL, read from a CloudFormation stack's
 * outputs, or the local run's (`npm start`) when nothing is given.
 * @module
 */
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { deadLetterQueueOf, stackQueues } from '../../operate/findQueues.js';
import { LOCAL_RUN_DIR, readLocalRunState } from '../localRun.js';
import { UsageError, type CliIo } from './cliIo.js';
import { localRunClients } from './localRunClients.js';

/** The flags every operator command takes. */
export interface QueueTargetFlags {
  queueUrl?: string;
  dlqUrl?: string;
  stack?: string;
  endpoint?: string;
  region?: string;
}

/** The queues a command works on, and the client to reach them. */
export interface QueueTarget {
  sqs: SQSClient;
  /** Absent when only `--dlq-url` was given. */
  queueUrl?: string;
  dlqUrl: string;
  /** Where the queues came from, for the operator: `local run (pid 123)`, `stack OutboundMail-prod`, `--queue-url`. */
  origin: string;
  /** For dead letters whose body is a claim check: S3 where the queues are (the local run's emulator; `AWS_ENDPOINT_URL_S3` when set). */
  s3: S3Client;
}

/** Adds the flags of {@link QueueTargetFlags} to a command. */
export function withQueueTarget(command: Command): Command {
  return command
    .option('--queue-url <url>', 'mail queue URL (default: $MAIL_QUEUE_URL, then $QUEUE_URL, then the local run)')
    .option('--dlq-url <url>', "dead-letter queue URL (default: $MAIL_DLQ_URL, then $DLQ_URL, then the queue's redrive policy)")
    .option('--stack <name>', "read both URLs from a stack's outputs (QueueUrl, DeadLetterQueueUrl), e.g. OutboundMail-prod")
    .option('--endpoint <url>', 'SQS endpoint URL (default: $AWS_ENDPOINT_URL_SQS, else AWS)')
    .option('--region <region>', 'AWS region (default: from the queue URL, else the AWS settings)');
}

/**
 * Finds the queues: `--stack` (CloudFormation `DescribeStacks`; its endpoint from
 * `AWS_ENDPOINT_URL_CLOUDFORMATION` as the SDK reads it), else `--queue-url` / `--dlq-url` (or
 * their environment variables; the DLQ from the queue's redrive policy when not given), else the
 * local run's state file.
 * @throws {UsageError} when no queue is given and no local run is found, or no DLQ can be found
 */
export async function resolveQueueTarget(flags: QueueTargetFlags, io: CliIo): Promise<QueueTarget> {
  const given = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  if (flags.stack !== undefined) {
    const region = flags.region ?? given(io.env.AWS_REGION);
    const cloudFormation = new CloudFormationClient(region === undefined ? {} : { region });
    try {
      const urls = await stackQueues(cloudFormation, flags.stack);
      return { sqs: sqsClient(flags, urls.queueUrl, io), s3: s3Client(flags, urls.queueUrl, io), ...urls, origin: `stack ${flags.stack}` };
    } finally {
      cloudFormation.destroy();
    }
  }
  const queueUrl = given(flags.queueUrl) ?? given(io.env.MAIL_QUEUE_URL) ?? given(io.env.QUEUE_URL);
  const dlqUrl = given(flags.dlqUrl) ?? given(io.env.MAIL_DLQ_URL) ?? given(io.env.DLQ_URL);
  if (queueUrl === undefined && dlqUrl === undefined) {
    const local = await readLocalRunState(path.resolve(io.cwd ?? process.cwd(), LOCAL_RUN_DIR));
    if (local === undefined) {
      throw new UsageError('no queue: give --queue-url, --dlq-url or --stack, or set MAIL_QUEUE_URL (or start the local run with npm start)');
    }
    io.stderr.write(`mail-queue: no queue given: using the local run's queues (npm start, pid ${local.pid})\n`);
    const { sqs, s3 } = localRunClients(local, flags);
    return { sqs, s3, queueUrl: local.queueUrl, dlqUrl: local.dlqUrl, origin: `local run (npm start, pid ${local.pid})` };
  }
  const sqs = sqsClient(flags, queueUrl ?? dlqUrl ?? '', io);
  const s3 = s3Client(flags, queueUrl ?? dlqUrl ?? '', io);
  if (dlqUrl !== undefined) return { sqs, s3, ...(queueUrl === undefined ? {} : { queueUrl }), dlqUrl, origin: 'the given URLs' };
  const found = await deadLetterQueueOf(sqs, queueUrl ?? '');
  if (found === undefined) throw new UsageError(`the queue ${queueUrl ?? ''} has no redrive policy: give --dlq-url`);
  return { sqs, s3, ...(queueUrl === undefined ? {} : { queueUrl }), dlqUrl: found, origin: "the given queue URL and its redrive policy's DLQ" };
}

/** The mail queue of a target, or a usage error saying how to give it. */
export function requireQueueUrl(target: QueueTarget): string {
  if (target.queueUrl === undefined) throw new UsageError('this command needs the mail queue: give --queue-url or --stack');
  return target.queueUrl;
}

/**
 * An SQS client for a queue URL: the region from the URL unless given; the endpoint, when given
 * (flag or environment), wins over the URL's host (which for a local emulator may not resolve).
 */
function sqsClient(flags: QueueTargetFlags, queueUrl: string, io: CliIo): SQSClient {
  const region = flags.region ?? /^https?:\/\/sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1];
  const endpoint = flags.endpoint ?? (io.env.AWS_ENDPOINT_URL_SQS || io.env.AWS_ENDPOINT_URL || undefined);
  return new SQSClient({ ...(endpoint === undefined ? {} : { endpoint }), ...(region === undefined ? {} : { region }) });
}

/** S3 in the queue's region (unless given); at `AWS_ENDPOINT_URL_S3` (path-style: an emulator has no bucket host names) when set. */
function s3Client(flags: QueueTargetFlags, queueUrl: string, io: CliIo): S3Client {
  const region = flags.region ?? /^https?:\/\/sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1];
  const endpoint = io.env.AWS_ENDPOINT_URL_S3 || undefined;
  return new S3Client({ ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }) });
}
