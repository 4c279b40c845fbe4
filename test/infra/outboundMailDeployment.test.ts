/**
 * Deploying into a real organisation (issue 10 s.3): the relay inside a VPC (subnets, the default
 * security group's exact egress, or the caller's groups), a private CA from a file, an SSM
 * parameter or a secret, the relay secret's customer KMS key, producers from other accounts,
 * the queue's URL and ARN in SSM, allowedRecipients; each with its exact template and cdk-nag clean.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Peer, SecurityGroup, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { AccountPrincipal, ArnPrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEnvironments } from '../../infra/config.js';
import { InvalidEnvironmentConfigError, InvalidOutboundMailPropsError } from '../../infra/errors.js';
import { OutboundMail } from '../../infra/OutboundMail.js';
import type { OutboundMailProps } from '../../infra/OutboundMail.js';
import { addOutboundMailStacks, nagPacks } from '../../infra/outboundMailApp.js';
import { RelayCa } from '../../infra/relayCa.js';
import { testApp } from '../support/cdkApp.js';
import { testCertificates } from '../support/certificates.js';

const ACCOUNT = '123456789012';
const SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:relay-Xy12Zq`;
const CA_SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:pki/relay-ca-Ab12Cd`;
const KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

// Synthesising a stack takes seconds on a shared machine; the first one also loads aws-cdk-lib.
vi.setConfig({ testTimeout: 120_000 });

let dir: string;
let caFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'outbound-mail-deployment-'));
  caFile = path.join(dir, 'relay-ca.pem');
  await writeFile(caFile, (await testCertificates()).ca);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function teamStack(): Stack {
  return new Stack(testApp(), 'TeamStack', { env: { account: ACCOUNT, region: 'eu-west-1' } });
}

/** The organisation's VPC, imported (as a team does), with two private and two isolated subnets. */
function relayVpc(stack: Stack): IVpc {
  return Vpc.fromVpcAttributes(stack, 'RelayVpc', {
    vpcId: 'vpc-0a1b2c3d',
    vpcCidrBlock: '10.20.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0a000000000000001', 'subnet-0a000000000000002'],
    privateSubnetRouteTableIds: ['rtb-0a000000000000001', 'rtb-0a000000000000002'],
    isolatedSubnetIds: ['subnet-0b000000000000001', 'subnet-0b000000000000002'],
    isolatedSubnetRouteTableIds: ['rtb-0b000000000000001', 'rtb-0b000000000000002'],
  });
}

function mailIn(stack: Stack, props: Partial<OutboundMailProps> = {}): { mail: OutboundMail; template: Template } {
  const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN);
  const mail = new OutboundMail(stack, 'Mail', { smtpSecret, environmentName: 'staging', ...props });
  return { mail, template: Template.fromStack(stack) };
}

function nagClean(stack: Stack): void {
  for (const pack of nagPacks()) expect(pack.validateScope(stack).violations).toEqual([]);
}

function refusal(props: (stack: Stack) => Partial<OutboundMailProps>): InvalidOutboundMailPropsError {
  const stack = teamStack();
  try {
    mailIn(stack, props(stack));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOutboundMailPropsError);
    return error as InvalidOutboundMailPropsError;
  }
  throw new Error('accepted');
}

/** Every statement of the function role's policy. */
function roleStatements(template: Template): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement,
  );
}

/** The actions the function's role is allowed on `resource` (statements are merged by minimizePolicies, actions sorted). */
function actionsOn(template: Template, resource: unknown): string[] {
  const same = (value: unknown): boolean => JSON.stringify(value) === JSON.stringify(resource);
  return roleStatements(template)
    .filter(
      (statement) =>
        statement['Effect'] === 'Allow' &&
        (same(statement['Resource']) || (Array.isArray(statement['Resource']) && statement['Resource'].some(same))),
    )
    .flatMap((statement) => [statement['Action']].flat() as string[])
    .sort();
}

function functionVariables(template: Template): Record<string, unknown> {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  return fn?.Properties.Environment.Variables ?? {};
}

describe('a relay inside a VPC', () => {
  it('runs in the private subnets with its own security group: no inbound, egress only to 587 and 443', () => {
    const stack = teamStack();
    const { template } = mailIn(stack, { vpc: relayVpc(stack) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-0a000000000000001', 'subnet-0a000000000000002'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^MailFunctionSecurityGroup'), 'GroupId'] }],
      },
    });
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup'));
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      Properties: {
        VpcId: 'vpc-0a1b2c3d',
        SecurityGroupEgress: [
          { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 587, ToPort: 587, Description: 'SMTP relay (587)' },
          { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'AWS APIs: SQS, Secrets Manager, DynamoDB, SSM, X-Ray' },
        ],
      },
    });
    expect(groups[0]).not.toHaveProperty('Properties.SecurityGroupIngress');
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    // Our own role: Lambda's ENI actions are on it (CDK adds the managed policy only to roles it makes).
    expect(actionsOn(template, '*')).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    nagClean(stack);
  });

  it('opens the relay ports given, to the relay only, and 443 to the VPC (endpoints) only; the subnets chosen', () => {
    const stack = teamStack();
    const vpc = relayVpc(stack);
    const { template } = mailIn(stack, {
      vpc,
      vpcSubnets: { subnets: [vpc.isolatedSubnets[0]!] },
      relayPorts: [465, 25],
      relayPeer: Peer.ipv4('10.20.5.0/24'),
      awsApiPeer: Peer.ipv4(vpc.vpcCidrBlock),
    });
    template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: Match.objectLike({ SubnetIds: ['subnet-0b000000000000001'] }) });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        { CidrIp: '10.20.5.0/24', IpProtocol: 'tcp', FromPort: 465, ToPort: 465, Description: 'SMTP relay (465)' },
        { CidrIp: '10.20.5.0/24', IpProtocol: 'tcp', FromPort: 25, ToPort: 25, Description: 'SMTP relay (25)' },
        { CidrIp: '10.20.0.0/16', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
    nagClean(stack);
  });

  it("uses the caller's security groups as they are, and makes none", () => {
    const stack = teamStack();
    const vpc = relayVpc(stack);
    const group = SecurityGroup.fromSecurityGroupId(stack, 'MailEgress', 'sg-0123456789abcdef0');
    const { mail, template } = mailIn(stack, { vpc, securityGroups: [group] });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: Match.objectLike({ SecurityGroupIds: ['sg-0123456789abcdef0'] }) });
    expect(mail.sendMailFunction.connections.securityGroups.map((g) => g.securityGroupId)).toEqual(['sg-0123456789abcdef0']);
    nagClean(stack);
  });

  it('is not in a VPC by default: no VpcConfig, no security group, no EC2 actions', () => {
    const stack = teamStack();
    const { template } = mailIn(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: Match.absent() });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    expect(JSON.stringify(roleStatements(template))).not.toContain('ec2:');
  });

  it.each<[string, (stack: Stack) => Partial<OutboundMailProps>, string, string]>([
    [
      'subnets without a VPC',
      () => ({ vpcSubnets: { subnetGroupName: 'relay' } }),
      'vpcSubnets',
      'is only for a function in a VPC: give vpc as well',
    ],
    ['relay ports without a VPC', () => ({ relayPorts: [465] }), 'relayPorts', 'is only for a function in a VPC'],
    ['an empty list of groups', (s) => ({ vpc: relayVpc(s), securityGroups: [] }), 'securityGroups', 'must hold at least one security group'],
    [
      'relay ports with own groups',
      (s) => ({ vpc: relayVpc(s), securityGroups: [SecurityGroup.fromSecurityGroupId(s, 'G', 'sg-1')], relayPorts: [465] }),
      'relayPorts',
      "shapes the default security group's egress; with securityGroups, set the egress on those groups",
    ],
    ['port 0', (s) => ({ vpc: relayVpc(s), relayPorts: [0] }), 'relayPorts', 'must be TCP ports from 1 to 65535, got 0'],
    ['no port', (s) => ({ vpc: relayVpc(s), relayPorts: [] }), 'relayPorts', 'must hold at least one port'],
  ])('refuses %s', (_what, props, prop, problem) => {
    const error = refusal(props);
    expect(error.prop).toBe(prop);
    expect(error.problem).toContain(problem);
  });
});

describe('a relay with a private CA', () => {
  it('from a file: SMTP_CA_FILE names the copy bundled with the function; no grant', () => {
    const stack = teamStack();
    const { template } = mailIn(stack, { relayCa: RelayCa.fromFile(caFile) });
    expect(functionVariables(template)).toMatchObject({ SMTP_CA_FILE: '/var/task/smtp-relay-ca.pem' });
    expect(functionVariables(template)).not.toHaveProperty('SMTP_CA_PARAMETER');
    expect(JSON.stringify(roleStatements(template))).not.toContain('ssm:');
    nagClean(stack);
  });

  it('from an SSM parameter: SMTP_CA_PARAMETER, and reading that parameter only', () => {
    const stack = teamStack();
    const parameter = StringParameter.fromStringParameterName(stack, 'Ca', '/pki/relay-ca');
    const { template } = mailIn(stack, { relayCa: RelayCa.fromParameter(parameter) });
    expect(functionVariables(template)).toMatchObject({ SMTP_CA_PARAMETER: '/pki/relay-ca' });
    expect(actionsOn(template, `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/pki/relay-ca`)).toEqual([
      'ssm:DescribeParameters',
      'ssm:GetParameter',
      'ssm:GetParameterHistory',
      'ssm:GetParameters',
    ]);
    expect(JSON.stringify(roleStatements(template)).match(/"ssm:[A-Z]/g)).toHaveLength(4);
    nagClean(stack);
  });

  it('from a secret: SMTP_CA_SECRET_ID, and reading that secret only', () => {
    const stack = teamStack();
    const secret = Secret.fromSecretCompleteArn(stack, 'CaSecret', CA_SECRET_ARN);
    const { template } = mailIn(stack, { relayCa: RelayCa.fromSecret(secret) });
    expect(functionVariables(template)).toMatchObject({ SMTP_CA_SECRET_ID: CA_SECRET_ARN });
    expect(actionsOn(template, CA_SECRET_ARN)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(actionsOn(template, SECRET_ARN)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    nagClean(stack);
  });

  it('refuses a CA secret without its complete ARN, a missing file and a file holding no certificate', async () => {
    const partial = refusal((s) => ({ relayCa: RelayCa.fromSecret(Secret.fromSecretNameV2(s, 'Ca', 'pki/relay-ca')) }));
    expect(partial.prop).toBe('relayCa');
    expect(partial.problem).toContain('must reference its secret by its complete ARN');
    expect(() => RelayCa.fromFile(path.join(dir, 'missing.pem'))).toThrow(/OutboundMail: relayCa cannot read .*missing\.pem \(ENOENT\)/);
    const notCa = path.join(dir, 'key.pem');
    await writeFile(notCa, (await testCertificates()).key);
    expect(() => RelayCa.fromFile(notCa)).toThrow('key.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
    const broken = path.join(dir, 'broken.pem');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    expect(() => RelayCa.fromFile(broken)).toThrow(InvalidOutboundMailPropsError);
  });
});

describe('the relay secret encrypted with a customer KMS key', () => {
  it('may decrypt with that key through Secrets Manager only', () => {
    const stack = teamStack();
    const { template } = mailIn(stack, { smtpSecretKey: Key.fromKeyArn(stack, 'SecretKey', KEY_ARN) });
    expect(roleStatements(template)).toContainEqual({
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      Effect: 'Allow',
      Resource: KEY_ARN,
    });
    nagClean(stack);
  });

  it('has no KMS statement without one', () => {
    expect(JSON.stringify(roleStatements(mailIn(teamStack()).template))).not.toContain('kms:');
  });
});

describe('producers in other accounts', () => {
  it("are let send jobs (and find the queue) by the queue's policy, nothing else", () => {
    const stack = teamStack();
    const { template } = mailIn(stack, {
      producers: [new AccountPrincipal('444455556666'), new ArnPrincipal('arn:aws:iam::777788889999:role/orders')],
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Match.stringLikeRegexp('^MailQueue') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'Producers',
            Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
            Effect: 'Allow',
            Principal: { AWS: ['arn:aws:iam::444455556666:root', 'arn:aws:iam::777788889999:role/orders'] },
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MailQueue'), 'Arn'] },
          },
        ]),
      },
    });
    nagClean(stack);
  });

  it('leave the queue policy as it was without them (TLS only)', () => {
    const { template } = mailIn(teamStack());
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(JSON.stringify(policies)).not.toContain('Producers');
  });
});

describe('the queue in SSM for producers to look up', () => {
  it('writes /outbound-mail/<environment>/queue-url, queue-arn and payload-bucket by default', () => {
    const stack = teamStack();
    const { mail, template } = mailIn(stack);
    template.resourceCountIs('AWS::SSM::Parameter', 3);
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/outbound-mail/staging/queue-url',
      Type: 'String',
      Value: { Ref: Match.stringLikeRegexp('^MailQueue') },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/outbound-mail/staging/queue-arn',
      Type: 'String',
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MailQueue'), 'Arn'] },
    });
    // The claim-check bucket, for producers that offload jobs over 256 KiB (createMailQueue's payloadBucket).
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/outbound-mail/staging/payload-bucket',
      Type: 'String',
      Value: { Ref: stack.getLogicalId(mail.payloads.bucket.node.defaultChild as never) },
    });
    expect(mail.queueParameters?.queueUrl.parameterName).toBeDefined();
    expect(mail.queueParameters?.payloadBucket.parameterName).toBeDefined();
    nagClean(stack);
  });

  it('uses the prefix given, or writes none with false; refuses a prefix that is not an SSM path', () => {
    mailIn(teamStack(), { parameterPrefix: '/teams/mail/prod' }).template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/teams/mail/prod/queue-url',
    });
    const { mail, template } = mailIn(teamStack(), { parameterPrefix: false });
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    expect(mail.queueParameters).toBeUndefined();
    const error = refusal(() => ({ parameterPrefix: 'outbound-mail/prod' }));
    expect(error.prop).toBe('parameterPrefix');
    expect(error.problem).toContain('must be an SSM path like /outbound-mail/prod');
  });
});

describe('allowedRecipients', () => {
  it('reach the function as MAIL_ALLOWED_RECIPIENTS, comma-separated, only when given', () => {
    const { template } = mailIn(teamStack(), { allowedRecipients: ['example.com', '.example.com', 'qa@example.net'] });
    expect(functionVariables(template)).toMatchObject({ MAIL_ALLOWED_RECIPIENTS: 'example.com,.example.com,qa@example.net' });
    expect(functionVariables(mailIn(teamStack()).template)).not.toHaveProperty('MAIL_ALLOWED_RECIPIENTS');
  });

  it('refuses an empty list or an entry that is neither an address nor a domain', () => {
    expect(refusal(() => ({ allowedRecipients: [] })).problem).toContain('must list at least one address or domain');
    const error = refusal(() => ({ allowedRecipients: ['*@example.com'] }));
    expect(error.prop).toBe('allowedRecipients');
    expect(error.problem).toContain('"*@example.com" is not an address');
  });
});

describe('everything at once', () => {
  it('a private relay in a VPC, its CA from SSM, a customer-key secret, producers, SSM: nag-clean', () => {
    const stack = teamStack();
    const vpc = relayVpc(stack);
    mailIn(stack, {
      vpc,
      relayPorts: [587],
      relayPeer: Peer.ipv4('10.20.5.10/32'),
      relayCa: RelayCa.fromParameter(StringParameter.fromStringParameterName(stack, 'Ca', '/pki/relay-ca')),
      smtpSecretKey: Key.fromKeyArn(stack, 'SecretKey', KEY_ARN),
      producers: [new AccountPrincipal('444455556666')],
      allowedRecipients: ['example.com'],
    });
    nagClean(stack);
  });
});

describe("the stacks of cdk.json's environments", () => {
  const app = testApp();
  const stacks = addOutboundMailStacks(app);
  const templates = new Map(stacks.map((stack) => [stack.stackName, Template.fromStack(stack)]));

  it('staging and dev can only mail their allowed recipients; prod (production: true) everyone', () => {
    expect(functionVariables(templates.get('OutboundMail-staging')!)).toMatchObject({
      MAIL_ALLOWED_RECIPIENTS: 'example.com,.example.com,qa-inbox@example.net',
    });
    expect(functionVariables(templates.get('OutboundMail-dev')!)).toMatchObject({ MAIL_ALLOWED_RECIPIENTS: 'example.com' });
    expect(functionVariables(templates.get('OutboundMail-prod')!)).not.toHaveProperty('MAIL_ALLOWED_RECIPIENTS');
  });

  it('export the queue URL and ARN and the claim-check bucket (the output keys mail-queue --stack reads stay) and write them to SSM', () => {
    const template = templates.get('OutboundMail-prod')!;
    template.hasOutput('QueueUrl', { Export: { Name: 'OutboundMail-prod-QueueUrl' }, Value: { Ref: Match.stringLikeRegexp('^MailQueue') } });
    template.hasOutput('QueueArn', { Export: { Name: 'OutboundMail-prod-QueueArn' } });
    template.hasOutput('DeadLetterQueueUrl', { Export: Match.absent() });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/outbound-mail/prod/queue-url' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/outbound-mail/prod/queue-arn' });
    template.hasOutput('PayloadBucketName', {
      Export: { Name: 'OutboundMail-prod-PayloadBucketName' },
      Value: { Ref: Match.stringLikeRegexp('^MailPayloadsBucket') },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/outbound-mail/prod/payload-bucket' });
  });
});

describe('the deployment settings of a cdk.json environment', () => {
  const QA = {
    account: ACCOUNT,
    region: 'eu-west-1',
    secretCompleteArn: SECRET_ARN,
    mailPerConnection: 10,
    maxConnections: 2,
    memorySize: 256,
    timeoutSeconds: 60,
    allowedRecipients: ['example.com'],
  };

  function qaError(extra: Record<string, unknown>): InvalidEnvironmentConfigError {
    try {
      parseEnvironments({ qa: { ...QA, ...extra } });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidEnvironmentConfigError);
      return error as InvalidEnvironmentConfigError;
    }
    throw new Error('accepted');
  }

  it('become the props: producers, KMS key, CA parameter, VPC with the relay port and range; nag-clean', () => {
    const app = testApp({
      environments: {
        qa: {
          ...QA,
          producerAccounts: ['444455556666'],
          smtpSecretKmsKeyArn: KEY_ARN,
          relayCaParameterName: '/pki/relay-ca',
          vpcId: 'vpc-0a1b2c3d',
          subnetIds: ['subnet-0a000000000000001', 'subnet-0a000000000000002'],
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          relayPorts: [465],
          relayCidr: '10.20.5.0/24',
        },
      },
    });
    const [stack] = addOutboundMailStacks(app);
    const template = Template.fromStack(stack!);
    expect(functionVariables(template)).toMatchObject({ SMTP_CA_PARAMETER: '/pki/relay-ca' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.objectLike({ SubnetIds: ['subnet-0a000000000000001', 'subnet-0a000000000000002'] }),
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        { CidrIp: '10.20.5.0/24', IpProtocol: 'tcp', FromPort: 465, ToPort: 465, Description: 'SMTP relay (465)' },
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
    expect(actionsOn(template, KEY_ARN)).toEqual(['kms:Decrypt']);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'Producers', Principal: { AWS: 'arn:aws:iam::444455556666:root' } })]) },
    });
    nagClean(stack!);
  });

  it('a CA file from cdk.json is read at synth; one that is missing is reported under its cdk.json key', () => {
    const withFile = addOutboundMailStacks(testApp({ environments: { qa: { ...QA, relayCaFile: caFile } } }))[0]!;
    expect(functionVariables(Template.fromStack(withFile))).toMatchObject({ SMTP_CA_FILE: '/var/task/smtp-relay-ca.pem' });
    expect(() => addOutboundMailStacks(testApp({ environments: { qa: { ...QA, relayCaFile: path.join(dir, 'nope.pem') } } }))).toThrow(
      /cdk.json context "environments\.qa\.relayCaFile" cannot read .*nope\.pem \(ENOENT\) \(OutboundMail relayCa\)/,
    );
  });

  it.each<[Record<string, unknown>, string, string]>([
    [{ producerAccounts: ['4444'] }, 'producerAccounts', 'must hold 12-digit account ids only, got "4444"'],
    [{ producerAccounts: [] }, 'producerAccounts', 'must list at least one 12-digit account id'],
    [{ smtpSecretKmsKeyArn: 'alias/relay' }, 'smtpSecretKmsKeyArn', 'must be a KMS key ARN'],
    [{ relayCaSecretArn: 'pki/relay-ca' }, 'relayCaSecretArn', 'must be the complete ARN of a Secrets Manager secret'],
    [{ relayCaParameterName: '/pki/relay-ca', relayCaFile: 'ca.pem' }, 'relayCaParameterName', 'cannot be set together with relayCaFile'],
    [{ vpcId: 'vpc-0a1b2c3d' }, 'subnetIds', 'is missing: a VPC needs vpcId, subnetIds and availabilityZones'],
    [
      { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a000000000000001'], availabilityZones: ['eu-west-1a', 'eu-west-1b'] },
      'availabilityZones',
      'must name the zone of each subnet',
    ],
    [{ relayPorts: [587] }, 'relayPorts', 'is only for a function in a VPC'],
    [
      { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a000000000000001'], availabilityZones: ['eu-west-1a'], relayPorts: [0] },
      'relayPorts',
      'must hold TCP ports only, got 0',
    ],
    [{ relayCidr: '10.20.5.0' }, 'relayCidr', 'must be an IPv4 CIDR like 10.20.5.0/24'],
  ])('refuses %j', (extra, key, problem) => {
    const error = qaError(extra);
    expect(error.key).toBe(`environments.qa.${key}`);
    expect(error.message).toContain(problem);
  });
});
