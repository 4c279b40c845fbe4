/**
 * The claim-check bucket construct (issue 11): encryption, TLS only, public access blocked, the
 * lifecycle rule, the function's read/delete grant and a producer's PutObject on `payloads/*` only,
 * cdk-nag clean.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { PayloadBucket } from '../../infra/PayloadBucket.js';
import { nagPacks } from '../../infra/outboundMailApp.js';
import { testApp } from '../support/cdkApp.js';

function bucketStack() {
  const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const payloads = new PayloadBucket(stack, 'Payloads', { expiration: Duration.days(4 + 14 + 1) });
  const fn = new Role(stack, 'FunctionRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  const producer = new Role(stack, 'Orders', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  payloads.grantReadDelete(fn, fn);
  payloads.grantWrite(producer);
  return { stack, payloads, template: Template.fromStack(stack) };
}

describe('the claim-check bucket', () => {
  it('is encrypted, TLS only, closed to the public, retained, and expires objects after the given time (whole days)', () => {
    const { template } = bucketStack();
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        Rules: [{ Id: 'expire-payloads', Status: 'Enabled', ExpirationInDays: 19, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
      },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('the function may get and delete objects under payloads/ only; a producer may put them there only', () => {
    const { template, stack, payloads } = bucketStack();
    const bucketId = stack.getLogicalId(payloads.bucket.node.defaultChild as never);
    const onPayloads = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/payloads/*']] };
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements.map((s) => ({ Action: s.Action, Resource: s.Resource }))).toEqual([
      { Action: ['s3:DeleteObject', 's3:GetObject'], Resource: onPayloads },
      { Action: 's3:PutObject', Resource: onPayloads },
    ]);
  });

  it('passes every cdk-nag pack (the prefix wildcard on the function role and the access logs acknowledged with reasons)', () => {
    const stack = new Stack(testApp(), 'Nag', { env: { account: '123456789012', region: 'eu-west-1' } });
    const payloads = new PayloadBucket(stack, 'Payloads', { expiration: Duration.days(19) });
    const fn = new Role(stack, 'FunctionRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    payloads.grantReadDelete(fn, fn);
    for (const pack of nagPacks()) expect(pack.validateScope(stack).violations, pack.name).toEqual([]);
  });
});
