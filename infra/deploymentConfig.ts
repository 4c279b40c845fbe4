/**
 * The `cdk.json` settings of an environment for deploying into an organisation: producers in other
 * accounts, the relay secret's customer KMS key, the relay's private CA, and the relay's VPC. Read
 * with the other settings by infra/config.ts; turned into `OutboundMail` props by
 * {@link deploymentPropsOf}.
 * @module
 */
import { Peer, Vpc } from 'aws-cdk-lib/aws-ec2';
import { AccountPrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { KeySpec } from './config.js';
import { InvalidEnvironmentConfigError } from './errors.js';
import type { OutboundMailProps } from './outboundMailProps.js';
import { RelayCa } from './relayCa.js';

/** The deployment settings of one environment (all optional). */
export interface DeploymentConfig {
  /** Accounts whose principals may send jobs (the queue's policy); they grant it in their own IAM. */
  readonly producerAccounts?: readonly string[];
  /** ARN of the customer managed KMS key the relay secret is encrypted with. */
  readonly smtpSecretKmsKeyArn?: string;
  /** The relay's CA as a PEM file, relative to where `cdk` runs (the folder of cdk.json); bundled with the function. */
  readonly relayCaFile?: string;
  /** The relay's CA in an SSM parameter (name, e.g. `/pki/relay-ca`). */
  readonly relayCaParameterName?: string;
  /** The relay's CA in a Secrets Manager secret (complete ARN). */
  readonly relayCaSecretArn?: string;
  /** The relay's VPC: its id; with {@link DeploymentConfig.subnetIds} and {@link DeploymentConfig.availabilityZones}. */
  readonly vpcId?: string;
  /** The subnets the function runs in (private, with a route to the relay and to AWS's APIs). */
  readonly subnetIds?: readonly string[];
  /** The subnets' availability zones, in the same order. */
  readonly availabilityZones?: readonly string[];
  /** The relay's ports for the function's security group. @default [587] */
  readonly relayPorts?: readonly number[];
  /** The relay's address range for the security group's egress, e.g. `10.20.5.0/24`. @default anywhere */
  readonly relayCidr?: string;
}

const ACCOUNT = /^\d{12}$/;
const KMS_KEY_ARN = /^arn:aws(?:-cn|-us-gov)?:kms:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const SECRET_ARN = /^arn:aws(?:-cn|-us-gov)?:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const PARAMETER_NAME = /^\/?[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
const CIDR = /^(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

const every =
  (test: (item: unknown) => boolean, what: string) =>
  (value: readonly unknown[]): string | undefined => {
    const bad = value.find((item) => !test(item));
    if (value.length === 0) return `must list at least one ${what}`;
    return bad === undefined ? undefined : `must hold ${what}s only, got ${JSON.stringify(bad)}`;
  };
const matching = (pattern: RegExp, what: string) => (value: string) => (pattern.test(value) ? undefined : `must be ${what}, got "${value}"`);

/** The keys of {@link DeploymentConfig}, for infra/config.ts. */
export const DEPLOYMENT_KEYS: Readonly<Record<keyof DeploymentConfig, KeySpec>> = {
  producerAccounts: { kind: 'strings', required: false, check: every((a) => typeof a === 'string' && ACCOUNT.test(a), '12-digit account id') },
  smtpSecretKmsKeyArn: { kind: 'string', required: false, check: matching(KMS_KEY_ARN, 'a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)') },
  relayCaFile: { kind: 'string', required: false },
  relayCaParameterName: { kind: 'string', required: false, check: matching(PARAMETER_NAME, 'an SSM parameter name like /pki/relay-ca') },
  relayCaSecretArn: { kind: 'string', required: false, check: matching(SECRET_ARN, 'the complete ARN of a Secrets Manager secret') },
  vpcId: { kind: 'string', required: false, check: matching(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id (vpc-0123abcd)') },
  subnetIds: { kind: 'strings', required: false, check: every((s) => typeof s === 'string' && /^subnet-[0-9a-f]{8,17}$/.test(s), 'subnet id') },
  availabilityZones: {
    kind: 'strings',
    required: false,
    check: every((z) => typeof z === 'string' && /^[a-z]{2}(?:-[a-z]+)+-\d[a-z]$/.test(z), 'availability zone'),
  },
  relayPorts: {
    kind: 'strings',
    required: false,
    check: every((p) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65_535, 'TCP port'),
  },
  relayCidr: { kind: 'string', required: false, check: matching(CIDR, 'an IPv4 CIDR like 10.20.5.0/24') },
};

/**
 * Checks the deployment settings against each other.
 * @throws {@link InvalidEnvironmentConfigError} naming the key at fault.
 */
export function checkDeploymentConfig(path: string, config: DeploymentConfig): void {
  const cas = (['relayCaFile', 'relayCaParameterName', 'relayCaSecretArn'] as const).filter((key) => config[key] !== undefined);
  const [firstCa, secondCa] = cas;
  if (firstCa !== undefined && secondCa !== undefined) {
    throw new InvalidEnvironmentConfigError(`${path}.${secondCa}`, `cannot be set together with ${firstCa}: the relay's CA comes from one place`);
  }
  const vpcKeys = ['vpcId', 'subnetIds', 'availabilityZones'] as const;
  const missing = vpcKeys.find((key) => config[key] === undefined);
  if (missing !== undefined && vpcKeys.some((key) => config[key] !== undefined)) {
    throw new InvalidEnvironmentConfigError(`${path}.${missing}`, 'is missing: a VPC needs vpcId, subnetIds and availabilityZones');
  }
  if (config.subnetIds !== undefined && config.availabilityZones !== undefined && config.subnetIds.length !== config.availabilityZones.length) {
    throw new InvalidEnvironmentConfigError(`${path}.availabilityZones`, 'must name the zone of each subnet of subnetIds, in the same order');
  }
  for (const key of ['relayPorts', 'relayCidr'] as const) {
    if (config[key] !== undefined && config.vpcId === undefined) {
      throw new InvalidEnvironmentConfigError(
        `${path}.${key}`,
        'is only for a function in a VPC: give vpcId, subnetIds and availabilityZones as well',
      );
    }
  }
}

/**
 * The `OutboundMail` props of an environment's deployment settings.
 * @example
 * new OutboundMail(stack, 'Mail', { smtpSecret, ...deploymentPropsOf(stack, environment) });
 */
export function deploymentPropsOf(scope: Construct, config: DeploymentConfig): Partial<OutboundMailProps> {
  const props: { -readonly [K in keyof OutboundMailProps]?: OutboundMailProps[K] } = {};
  if (config.producerAccounts !== undefined) props.producers = config.producerAccounts.map((account) => new AccountPrincipal(account));
  if (config.smtpSecretKmsKeyArn !== undefined) props.smtpSecretKey = Key.fromKeyArn(scope, 'SmtpSecretKey', config.smtpSecretKmsKeyArn);
  if (config.relayCaFile !== undefined) props.relayCa = RelayCa.fromFile(config.relayCaFile);
  if (config.relayCaParameterName !== undefined) {
    props.relayCa = RelayCa.fromParameter(StringParameter.fromStringParameterName(scope, 'RelayCaParameter', config.relayCaParameterName));
  }
  if (config.relayCaSecretArn !== undefined)
    props.relayCa = RelayCa.fromSecret(Secret.fromSecretCompleteArn(scope, 'RelayCaSecret', config.relayCaSecretArn));
  if (config.vpcId !== undefined && config.subnetIds !== undefined && config.availabilityZones !== undefined) {
    const vpc = Vpc.fromVpcAttributes(scope, 'RelayVpc', {
      vpcId: config.vpcId,
      availabilityZones: [...config.availabilityZones],
      privateSubnetIds: [...config.subnetIds],
    });
    props.vpc = vpc;
    props.vpcSubnets = { subnets: vpc.privateSubnets };
    if (config.relayPorts !== undefined) props.relayPorts = config.relayPorts;
    if (config.relayCidr !== undefined) props.relayPeer = Peer.ipv4(config.relayCidr);
  }
  return props;
}
