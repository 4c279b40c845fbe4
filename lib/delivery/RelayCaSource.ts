/**
 * The relay's private CA read at run time, from an SSM parameter (`SMTP_CA_PARAMETER`) or a
 * Secrets Manager secret (`SMTP_CA_SECRET_ID`): read once, before the first connection, and kept
 * for the life of the execution environment (a new CA reaches new environments; redeploy to
 * reach them all at once). A failed read is not kept: the batch fails as systemic (phase
 * `secret`, retried with backoff) and the next batch reads again.
 * @module
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '../config.js';
import type { RelayCaLocation } from '../config.js';
import { checkCaPem } from '../config/relayCa.js';

/** The clients a CA is read with, created by the caller on first use. */
export interface RelayCaClients {
  secrets: () => Pick<SecretsManagerClient, 'send'>;
  ssm: () => Pick<SSMClient, 'send'>;
}

/**
 * Gives the relay's CA (PEM), read once.
 * @example
 * const ca = new RelayCaSource({ kind: 'parameter', name: '/pki/relay-ca' }, { secrets, ssm });
 * const pem = await ca.get(signal);
 */
export class RelayCaSource {
  readonly #location: RelayCaLocation;
  readonly #clients: RelayCaClients;
  #pem: string | undefined;

  constructor(location: RelayCaLocation, clients: RelayCaClients) {
    this.#location = location;
    this.#clients = clients;
  }

  /**
   * The CA, read on the first call (and again after a failed read).
   * @param signal aborts the request (the invocation's deadline)
   * @throws {ConfigError} naming the setting when the parameter or secret holds no PEM certificate
   * @throws the SDK client's error when it cannot be read (missing, denied, unreachable)
   */
  async get(signal?: AbortSignal): Promise<string> {
    this.#pem ??= await this.#read(signal);
    return this.#pem;
  }

  async #read(signal?: AbortSignal): Promise<string> {
    const options = signal === undefined ? {} : { abortSignal: signal };
    const location = this.#location;
    if (location.kind === 'parameter') {
      const reply = await this.#clients.ssm().send(new GetParameterCommand({ Name: location.name, WithDecryption: true }), options);
      return checkCaPem(reply.Parameter?.Value, 'SMTP_CA_PARAMETER', `parameter ${location.name}`);
    }
    const reply = await this.#clients.secrets().send(new GetSecretValueCommand({ SecretId: location.secretId }), options);
    if (typeof reply.SecretString !== 'string') {
      throw new ConfigError('SMTP_CA_SECRET_ID', `secret ${location.secretId} has no string value; store the PEM as text`);
    }
    return checkCaPem(reply.SecretString, 'SMTP_CA_SECRET_ID', `secret ${location.secretId}`);
  }
}
