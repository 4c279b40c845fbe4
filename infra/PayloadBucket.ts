/**
 * The claim-check bucket of one environment (issue 11): job bodies too large for a queue message,
 * written by producers under `payloads/`, read and deleted by the send-mail function.
 * @module
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { IConstruct } from 'constructs';
import { PAYLOAD_KEY_PREFIX } from '../lib/message/payloadPointer.js';

/** Props of {@link PayloadBucket}. */
export interface PayloadBucketProps {
  /**
   * How long an object may live: longer than a job can wait in the queue and then in the DLQ (a
   * redrive must still find it). The function deletes each object once its job is delivered; this
   * removes the rest (jobs purged, or dead-lettered and never redriven).
   */
  readonly expiration: Duration;
  /** @default RemovalPolicy.RETAIN (jobs in flight keep their bodies across a stack's removal) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An S3 bucket for claim checks: S3-managed encryption, TLS only, every kind of public access
 * blocked, objects expired after `expiration` and incomplete multipart uploads after a day.
 * Grants are on the `payloads/` prefix only.
 * @example
 * const payloads = new PayloadBucket(this, 'Payloads', { expiration: Duration.days(19) });
 * payloads.grantReadDelete(sendMailFunction);
 * payloads.grantWrite(ordersService);
 */
export class PayloadBucket extends Construct {
  /** The bucket. */
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: PayloadBucketProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-payloads',
          expiration: Duration.days(Math.ceil(props.expiration.toDays({ integral: false }))),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Job bodies live minutes to days and every read and delete is the send-mail function's own (its log line names the job); " +
        'a server-access-log bucket per environment would add a second bucket to secure for no new information. ' +
        'Turn on CloudTrail S3 data events where an audit trail of object access is required.',
    });
  }

  /**
   * The function's access: `s3:GetObject` and `s3:DeleteObject` on `payloads/*`, nothing else.
   * cdk-nag's wildcard finding on that prefix is acknowledged on `role` (the keys are producers' random names).
   */
  grantReadDelete(grantee: IGrantable, role?: IConstruct): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: [this.bucket.arnForObjects(`${PAYLOAD_KEY_PREFIX}*`)] }),
    );
    if (role !== undefined) acknowledgePrefix(role, this.bucket);
  }

  /**
   * A producer's access: `s3:PutObject` on `payloads/*` (multipart uploads included), nothing else.
   * A producer stack that runs cdk-nag sees the wildcard finding on that prefix: acknowledge it with
   * {@link acknowledgePrefix} (keys are random names under the prefix).
   */
  grantWrite(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects(`${PAYLOAD_KEY_PREFIX}*`)] }),
    );
  }
}

/** Acknowledges cdk-nag's IAM5 finding for `payloads/*` of `bucket` on `construct` (a role or policy that holds the grant). */
export function acknowledgePrefix(construct: IConstruct, bucket: Bucket): void {
  const id = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
  Validations.of(construct).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${id}.Arn>/${PAYLOAD_KEY_PREFIX}*]`,
    reason: 'Claim-check objects have random keys under payloads/: the grant names that prefix of this one bucket, never the bucket as a whole.',
  });
}
