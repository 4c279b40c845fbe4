/**
 * Per-environment configuration of the CDK app: the `environments` object in `cdk.json`'s
 * context, read and checked once, and the `-c env=NAME` switch that picks one of them.
 *
 * This module checks the shape of each value (types, formats, unknown keys). Limits that depend
 * on several values at once (the visibility timeout against the function timeout, FIFO against a
 * batching window, ...) are the `OutboundMail` construct's to check; the stack reports them
 * under the same `cdk.json` key.
 * @module
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { allowedRecipientsProblem } from './allowedRecipients.js';
import { DEPLOYMENT_KEYS, checkDeploymentConfig } from './deploymentConfig.js';
import type { DeploymentConfig } from './deploymentConfig.js';
import { InvalidEnvironmentConfigError, UnknownEnvironmentError } from './errors.js';

/** One deployment of the product: an account, a region and the settings of its mail pipeline. */
export interface EnvironmentConfig extends DeploymentConfig {
  /** The environment's name, the key under `environments` (e.g. `prod`); part of the stack name. */
  readonly name: string;
  /** AWS account id, 12 digits. */
  readonly account: string;
  /** AWS region, e.g. `eu-west-1`. */
  readonly region: string;
  /**
   * Complete ARN of the Secrets Manager secret holding the relay's settings, with the 6-character
   * suffix Secrets Manager adds to the name (so the function's read grant names one secret).
   */
  readonly secretCompleteArn: string;
  /** Messages sent over one SMTP connection: the event source's batch size. */
  readonly mailPerConnection: number;
  /** Most SMTP connections open at once: the event source's maximum concurrency (2 to 1000). */
  readonly maxConnections: number;
  /** Most recipients per message (`MAIL_MAX_RECIPIENTS`, e.g. 50 for SES); more go in further transactions. @default no limit of ours */
  readonly maxRecipientsPerMessage?: number;
  /** Function memory in MiB. */
  readonly memorySize: number;
  /** The function's ephemeral storage (`/tmp`) in MiB, 512 to 10,240: offloaded jobs are spooled there (`MAIL_SPOOL_BYTES` = this less 112 MiB). @default 1024 */
  readonly ephemeralStorageMiB?: number;
  /** Function timeout in seconds. */
  readonly timeoutSeconds: number;
  /** Receives before a job moves to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** Seconds the event source waits to fill a batch. @default no batching window */
  readonly maxBatchingWindowSeconds?: number;
  /** Queue visibility timeout in seconds. @default 6 x timeout + batching window */
  readonly visibilityTimeoutSeconds?: number;
  /** FIFO queues (per-group order) instead of standard ones. @default false */
  readonly fifo?: boolean;
  /** ARN of an existing SNS topic the alarms notify. @default no notification */
  readonly alarmTopicArn?: string;
  /** Create an encrypted SNS topic for the alarms (subscribe to it after deploying). @default false */
  readonly createAlarmTopic?: boolean;
  /** Alarm when the oldest job on the queue is older than this. @default 1800 */
  readonly oldestMessageAgeAlarmSeconds?: number;
  /** Days the function's logs are kept; one of CloudWatch Logs' retention values. @default 30 */
  readonly logRetentionDays?: RetentionDays;
  /**
   * What happens to the delivery ledger table when the stack is deleted or the table leaves it:
   * `retain` (kept, with deletion protection) or `destroy` (for throw-away environments). @default 'retain'
   */
  readonly ledgerRemovalPolicy?: 'retain' | 'destroy';
  /**
   * This environment mails real customers. Without it, {@link EnvironmentConfig.allowedRecipients}
   * is required: a stack that is not marked production can never mail anyone outside its list.
   * @default false
   */
  readonly production?: boolean;
  /**
   * The only recipients this environment may mail (`MAIL_ALLOWED_RECIPIENTS`): addresses
   * (`qa@example.com`), domains (`example.com`) and subdomains (`.example.com`); see
   * infra/allowedRecipients.ts. Others are left out of each job (outcome `suppressed`).
   * Required unless {@link EnvironmentConfig.production} is true.
   * @default every recipient (production only)
   */
  readonly allowedRecipients?: readonly string[];
}

/** The `cdk.json` context key holding every environment. */
export const ENVIRONMENTS_CONTEXT_KEY = 'environments';
/** The context key that selects one environment: `cdk synth -c env=prod`. */
export const SELECTED_ENVIRONMENT_CONTEXT_KEY = 'env';

type ValueKind = 'string' | 'integer' | 'boolean' | 'strings';

/** How one key of an environment is read: its kind, whether it is required, and its own check. */
export interface KeySpec {
  readonly kind: ValueKind;
  readonly required: boolean;
  /** Extra check on a value of the right kind; returns the problem, or undefined when fine. */
  readonly check?: (value: never) => string | undefined;
}

const PARTITION = String.raw`aws(?:-cn|-us-gov|-iso|-iso-b)?`;
const REGION = String.raw`[a-z]{2}(?:-[a-z]+)+-\d{1,2}`;
const REGION_PATTERN = new RegExp(`^${REGION}$`);
const ACCOUNT_PATTERN = /^\d{12}$/;
const SECRET_COMPLETE_ARN_PATTERN = new RegExp(
  String.raw`^arn:${PARTITION}:secretsmanager:${REGION}:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`,
);
const TOPIC_ARN_PATTERN = new RegExp(String.raw`^arn:${PARTITION}:sns:${REGION}:\d{12}:[A-Za-z0-9_-]{1,256}$`);
const ENVIRONMENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
const RETENTION_DAYS = new Set<number>(Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'));

const positive = (value: number): string | undefined => (value >= 1 ? undefined : `must be a positive integer, got ${value}`);
const notNegative = (value: number): string | undefined => (value >= 0 ? undefined : `must be 0 or more, got ${value}`);

const KEYS: Readonly<Record<Exclude<keyof EnvironmentConfig, 'name'>, KeySpec>> = {
  account: {
    kind: 'string',
    required: true,
    check: (value: string) => (ACCOUNT_PATTERN.test(value) ? undefined : `must be a 12-digit AWS account id, got "${value}"`),
  },
  region: {
    kind: 'string',
    required: true,
    check: (value: string) => (REGION_PATTERN.test(value) ? undefined : `must be an AWS region like "eu-west-1", got "${value}"`),
  },
  secretCompleteArn: {
    kind: 'string',
    required: true,
    check: (value: string) =>
      SECRET_COMPLETE_ARN_PATTERN.test(value)
        ? undefined
        : 'must be the complete ARN of a Secrets Manager secret, with the 6-character suffix ' +
          'Secrets Manager adds to its name (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf)',
  },
  mailPerConnection: { kind: 'integer', required: true, check: positive },
  maxConnections: { kind: 'integer', required: true, check: positive },
  maxRecipientsPerMessage: { kind: 'integer', required: false, check: positive },
  memorySize: { kind: 'integer', required: true, check: positive },
  ephemeralStorageMiB: {
    kind: 'integer',
    required: false,
    check: (value: number) => (value >= 512 && value <= 10_240 ? undefined : `must be from 512 to 10240 (MiB, Lambda's range), got ${value}`),
  },
  timeoutSeconds: { kind: 'integer', required: true, check: positive },
  maxReceiveCount: { kind: 'integer', required: false, check: positive },
  maxBatchingWindowSeconds: { kind: 'integer', required: false, check: notNegative },
  visibilityTimeoutSeconds: { kind: 'integer', required: false, check: notNegative },
  fifo: { kind: 'boolean', required: false },
  alarmTopicArn: {
    kind: 'string',
    required: false,
    check: (value: string) =>
      TOPIC_ARN_PATTERN.test(value) ? undefined : `must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got "${value}"`,
  },
  createAlarmTopic: { kind: 'boolean', required: false },
  oldestMessageAgeAlarmSeconds: { kind: 'integer', required: false, check: positive },
  logRetentionDays: {
    kind: 'integer',
    required: false,
    check: (value: number) =>
      RETENTION_DAYS.has(value)
        ? undefined
        : `must be one of CloudWatch Logs' retention periods in days (${[...RETENTION_DAYS].join(', ')}), got ${value}`,
  },
  ledgerRemovalPolicy: {
    kind: 'string',
    required: false,
    check: (value: string) => (value === 'retain' || value === 'destroy' ? undefined : `must be "retain" or "destroy", got "${value}"`),
  },
  production: { kind: 'boolean', required: false },
  allowedRecipients: { kind: 'strings', required: false, check: (value: readonly unknown[]) => allowedRecipientsProblem(value) },
  ...DEPLOYMENT_KEYS,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string "${value}"`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function hasKind(value: unknown, kind: ValueKind): boolean {
  if (kind === 'integer') return typeof value === 'number' && Number.isInteger(value);
  if (kind === 'strings') return Array.isArray(value);
  return typeof value === kind;
}

function parseEnvironment(name: string, raw: unknown): EnvironmentConfig {
  const path = `${ENVIRONMENTS_CONTEXT_KEY}.${name}`;
  if (!ENVIRONMENT_NAME_PATTERN.test(name)) {
    throw new InvalidEnvironmentConfigError(
      path,
      'is not a usable environment name: use a letter, then letters, digits or "-" (it becomes part of the stack name)',
    );
  }
  if (!isRecord(raw)) throw new InvalidEnvironmentConfigError(path, `must be an object, got ${describe(raw)}`);

  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(KEYS, key)) {
      throw new InvalidEnvironmentConfigError(`${path}.${key}`, `is not a known setting; known settings are ${Object.keys(KEYS).join(', ')}`);
    }
  }
  const config: Record<string, unknown> = { name };
  for (const [key, spec] of Object.entries<KeySpec>(KEYS)) {
    const value = raw[key];
    if (value === undefined) {
      if (spec.required) throw new InvalidEnvironmentConfigError(`${path}.${key}`, 'is missing');
      continue;
    }
    if (!hasKind(value, spec.kind)) {
      throw new InvalidEnvironmentConfigError(
        `${path}.${key}`,
        spec.kind === 'strings'
          ? `must be an array of strings, got ${describe(value)}`
          : `must be ${spec.kind === 'integer' ? 'an' : 'a'} ${spec.kind}, got ${describe(value)}`,
      );
    }
    const problem = spec.check?.(value as never);
    if (problem !== undefined) throw new InvalidEnvironmentConfigError(`${path}.${key}`, problem);
    config[key] = value;
  }
  if (config.alarmTopicArn !== undefined && config.createAlarmTopic === true) {
    throw new InvalidEnvironmentConfigError(
      `${path}.createAlarmTopic`,
      'cannot be true together with alarmTopicArn: either notify an existing topic or create one',
    );
  }
  if (config.production !== true && config.allowedRecipients === undefined) {
    throw new InvalidEnvironmentConfigError(
      `${path}.allowedRecipients`,
      'is missing: an environment that is not "production": true must list the only recipients it may mail ' +
        '(e.g. ["example.com", "qa@example.net"]), so that it can never mail a real customer',
    );
  }
  checkDeploymentConfig(path, config);
  return config as unknown as EnvironmentConfig;
}

/**
 * Reads and checks every environment of the `environments` context object.
 *
 * @param raw - the value of the `environments` context key, as `cdk.json` holds it.
 * @returns the environments by name, in the order `cdk.json` lists them.
 * @throws {@link InvalidEnvironmentConfigError} naming the first value that is missing, of the
 *   wrong type, malformed or unknown (e.g. `environments.prod.timeoutSeconds`).
 * @example
 * ```ts
 * const environments = parseEnvironments(app.node.tryGetContext('environments'));
 * environments.prod?.mailPerConnection; // 50
 * ```
 */
export function parseEnvironments(raw: unknown): Readonly<Record<string, EnvironmentConfig>> {
  if (raw === undefined) {
    throw new InvalidEnvironmentConfigError(ENVIRONMENTS_CONTEXT_KEY, 'is missing: cdk.json must define at least one environment');
  }
  if (!isRecord(raw)) {
    throw new InvalidEnvironmentConfigError(ENVIRONMENTS_CONTEXT_KEY, `must be an object of environments by name, got ${describe(raw)}`);
  }
  const names = Object.keys(raw);
  if (names.length === 0) {
    throw new InvalidEnvironmentConfigError(ENVIRONMENTS_CONTEXT_KEY, 'is empty: cdk.json must define at least one environment');
  }
  return Object.fromEntries(names.map((name) => [name, parseEnvironment(name, raw[name])]));
}

/**
 * Picks the environments to synthesise: the one named by `-c env=NAME`, or all of them when no
 * environment is named.
 *
 * @param environments - every environment, from {@link parseEnvironments}.
 * @param selected - the value of the `env` context key (undefined when `-c env` was not given).
 * @throws {@link UnknownEnvironmentError} when `selected` names no environment of `cdk.json`.
 * @throws {@link InvalidEnvironmentConfigError} when `selected` is not a non-empty string.
 */
export function selectEnvironments(environments: Readonly<Record<string, EnvironmentConfig>>, selected: unknown): EnvironmentConfig[] {
  if (selected === undefined) return Object.values(environments);
  if (typeof selected !== 'string' || selected === '') {
    throw new InvalidEnvironmentConfigError(SELECTED_ENVIRONMENT_CONTEXT_KEY, `must name one environment, got ${describe(selected)}`);
  }
  const environment = environments[selected];
  if (environment === undefined) throw new UnknownEnvironmentError(selected, Object.keys(environments));
  return [environment];
}
