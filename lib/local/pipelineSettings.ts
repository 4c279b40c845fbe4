/**
 * The settings of the deployed pipeline that the local run copies: batch size, maximum
 * concurrency, function timeout, batching window, visibility timeout, redrive count, recipient
 * limit and allowed recipients of one `cdk.json` environment, with the `OutboundMail` construct's defaults filled in the way the
 * stack fills them, so that the local queue and event source behave as the deployed ones.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { allowedRecipientsVariable } from '../../infra/allowedRecipients.js';
import { ENVIRONMENTS_CONTEXT_KEY, parseEnvironments } from '../../infra/config.js';
import type { EnvironmentConfig } from '../../infra/config.js';
import { OUTBOUND_MAIL_DEFAULTS, VISIBILITY_TIMEOUT_FACTOR } from '../../infra/outboundMailSettings.js';
import { PROJECT_ROOT } from '../../infra/sendMailBundle.js';

/** What the local queue and event source copy from one deployed environment. */
export interface PipelineSettings {
  /** The `cdk.json` environment the settings come from. */
  environment: string;
  /** Its region (used for the local queue URLs and ARNs). */
  region: string;
  /** Event source batch size = `MAIL_PER_CONNECTION`. */
  batchSize: number;
  /** Event source maximum concurrency: invocations (SMTP connections) at once. */
  maxConcurrency: number;
  /** Function memory in MiB (what the context reports). */
  memorySize: number;
  /** Function timeout: the fake context's remaining time starts here. */
  timeoutSeconds: number;
  /** Seconds the event source waits to fill a batch; 0: none. */
  batchingWindowSeconds: number;
  /** The mail queue's visibility timeout. */
  visibilityTimeoutSeconds: number;
  /** Receives before SQS moves a job to the dead-letter queue. */
  maxReceiveCount: number;
  fifo: boolean;
  /** Most recipients per message (`MAIL_MAX_RECIPIENTS`); absent: no limit of ours. */
  maxRecipientsPerMessage?: number;
  /** The only recipients the function sends to (`MAIL_ALLOWED_RECIPIENTS`), others are `suppressed`; absent: everyone (production). */
  allowedRecipients?: string[];
}

/** Thrown when `cdk.json` cannot be read or names no such environment. */
export class PipelineSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PipelineSettingsError';
  }
}

/**
 * The pipeline settings of one environment (defaults as in the `OutboundMail` construct:
 * `maxReceiveCount` 5, visibility timeout 6 × the function timeout + the batching window).
 *
 * @example
 * pipelineSettingsOf(parseEnvironments(context.environments).dev!);
 * // { environment: 'dev', batchSize: 10, maxConcurrency: 2, timeoutSeconds: 60, visibilityTimeoutSeconds: 360, maxReceiveCount: 5, ... }
 */
export function pipelineSettingsOf(environment: EnvironmentConfig): PipelineSettings {
  const batchingWindowSeconds = environment.maxBatchingWindowSeconds ?? 0;
  const settings: PipelineSettings = {
    environment: environment.name,
    region: environment.region,
    batchSize: environment.mailPerConnection,
    maxConcurrency: environment.maxConnections,
    memorySize: environment.memorySize,
    timeoutSeconds: environment.timeoutSeconds,
    batchingWindowSeconds,
    visibilityTimeoutSeconds: environment.visibilityTimeoutSeconds ?? VISIBILITY_TIMEOUT_FACTOR * environment.timeoutSeconds + batchingWindowSeconds,
    maxReceiveCount: environment.maxReceiveCount ?? OUTBOUND_MAIL_DEFAULTS.maxReceiveCount,
    fifo: environment.fifo ?? false,
  };
  if (environment.maxRecipientsPerMessage !== undefined) settings.maxRecipientsPerMessage = environment.maxRecipientsPerMessage;
  if (environment.allowedRecipients !== undefined) settings.allowedRecipients = [...environment.allowedRecipients];
  return settings;
}

/**
 * The function's settings that come from the environment's pipeline settings, named and written
 * as the stack writes them (infra/OutboundMail.ts): `MAIL_PER_CONNECTION`, `MAIL_MAX_RECEIVES` (the
 * queue's `maxReceiveCount`: the function dead-letters a job on that receive itself, with its
 * reason), `MAIL_MAX_RECIPIENTS` when the environment sets `maxRecipientsPerMessage`, and
 * `MAIL_ALLOWED_RECIPIENTS` when it sets `allowedRecipients` (every environment but production):
 * the local run leaves out the recipients the deployed environment would, so a job that works
 * locally works the same once deployed.
 *
 * @example
 * functionEnvironmentOf(await readPipelineSettings('dev'));
 * // { MAIL_PER_CONNECTION: '10', MAIL_MAX_RECEIVES: '5', MAIL_ALLOWED_RECIPIENTS: 'example.com' }
 */
export function functionEnvironmentOf(settings: PipelineSettings): Record<string, string> {
  return {
    MAIL_PER_CONNECTION: String(settings.batchSize),
    MAIL_MAX_RECEIVES: String(settings.maxReceiveCount),
    ...(settings.maxRecipientsPerMessage === undefined ? {} : { MAIL_MAX_RECIPIENTS: String(settings.maxRecipientsPerMessage) }),
    ...(settings.allowedRecipients === undefined ? {} : { MAIL_ALLOWED_RECIPIENTS: allowedRecipientsVariable(settings.allowedRecipients) }),
  };
}

/**
 * Reads `cdk.json` and returns the settings of environment `name`.
 *
 * @throws {PipelineSettingsError} when `cdk.json` cannot be read or parsed, or has no such environment
 * @throws {InvalidEnvironmentConfigError} (from infra/config.ts) when the environment's values are malformed
 * @example
 * const settings = await readPipelineSettings('dev');
 */
export async function readPipelineSettings(name: string, cdkJson = path.join(PROJECT_ROOT, 'cdk.json')): Promise<PipelineSettings> {
  let context: unknown;
  try {
    context = (JSON.parse(await readFile(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context?.[ENVIRONMENTS_CONTEXT_KEY];
  } catch (error) {
    throw new PipelineSettingsError(`cannot read ${cdkJson}: ${(error as Error).message}`);
  }
  const environments = parseEnvironments(context);
  const environment = environments[name];
  if (environment === undefined) {
    throw new PipelineSettingsError(`--env: cdk.json has no environment "${name}" (it has ${Object.keys(environments).join(', ')})`);
  }
  return pipelineSettingsOf(environment);
}
