/**
 * The relay's settings at run time: fixed ones from `SMTP_URL`, or the Secrets Manager secret,
 * fetched on first use, kept for a while, and dropped when the relay refuses its credentials so
 * that a rotated password heals by itself.
 *
 * Why not `@aws-lambda-powertools/parameters`: it would need the same Secrets Manager client and
 * add a layer of providers and transforms for one `GetSecretValue` with an expiry, which is a
 * dozen lines here.
 * @module
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, parseSmtpSecret } from '../config.js';
import type { SmtpSettings, SmtpSource } from '../config.js';
import type { RelayCaSource } from './RelayCaSource.js';

/** Settings and whether they were just read from Secrets Manager (rather than from the cache or `SMTP_URL`). */
export interface CurrentSettings {
  settings: SmtpSettings;
  fresh: boolean;
}

/** Options of {@link SmtpSettingsSource}. */
export interface SmtpSettingsSourceOptions {
  /** Needed for a secret source; created lazily by the caller so local runs never load it. */
  secrets?: () => Pick<SecretsManagerClient, 'send'>;
  /** How long a fetched secret is used before it is read again. @default 300_000 (5 minutes) */
  maxAgeMs?: number;
  /** Clock, replaceable in tests. @default Date.now */
  now?: () => number;
  /** The relay's CA read at run time (`SMTP_CA_PARAMETER`, `SMTP_CA_SECRET_ID`): read before the settings, given as `settings.tlsCa`. */
  ca?: RelayCaSource;
}

/**
 * Gives the current relay settings. One instance per cold start, kept across invocations.
 *
 * @example
 * const source = new SmtpSettingsSource(config.smtp, { secrets: () => new SecretsManagerClient({}) });
 * const { settings } = await source.get();
 * // after an AuthenticationError:
 * source.invalidate();
 */
export class SmtpSettingsSource {
  readonly #source: SmtpSource;
  readonly #secrets: (() => Pick<SecretsManagerClient, 'send'>) | undefined;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #ca: RelayCaSource | undefined;
  /** The settings with the CA, one object per settings object (callers compare settings by identity). */
  readonly #withCa = new WeakMap<SmtpSettings, SmtpSettings>();
  #cached: { settings: SmtpSettings; at: number } | undefined;

  constructor(source: SmtpSource, options: SmtpSettingsSourceOptions = {}) {
    this.#source = source;
    this.#secrets = options.secrets;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#now = options.now ?? Date.now;
    this.#ca = options.ca;
  }

  /**
   * The settings, from the cache while it is young enough.
   * @param signal aborts the Secrets Manager request (the invocation's deadline)
   * @throws {ConfigError} when the secret is missing, empty or malformed (naming the secret and field)
   * @throws the Secrets Manager client's error when the secret cannot be read
   * @throws the CA's read error (see {@link RelayCaSource.get}) when there is a CA to read and it cannot be read
   */
  async get(signal?: AbortSignal): Promise<CurrentSettings> {
    if (this.#ca === undefined) return this.#get(signal);
    const tlsCa = await this.#ca.get(signal);
    const current = await this.#get(signal);
    let settings = this.#withCa.get(current.settings);
    if (settings === undefined) {
      settings = { ...current.settings, tlsCa };
      this.#withCa.set(current.settings, settings);
    }
    return { settings, fresh: current.fresh };
  }

  async #get(signal?: AbortSignal): Promise<CurrentSettings> {
    if (this.#source.kind === 'url') return { settings: this.#source.settings, fresh: false };
    const cached = this.#cached;
    if (cached !== undefined && this.#now() - cached.at < this.#maxAgeMs) return { settings: cached.settings, fresh: false };
    const settings = await this.#fetch(this.#source.secretId, signal);
    this.#cached = { settings, at: this.#now() };
    return { settings, fresh: true };
  }

  /** Drops the cached secret: the next {@link get} reads it again. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #fetch(secretId: string, signal?: AbortSignal): Promise<SmtpSettings> {
    if (this.#secrets === undefined) throw new ConfigError('SMTP_SECRET_ID', 'no Secrets Manager client to read the secret with');
    const reply = await this.#secrets().send(new GetSecretValueCommand({ SecretId: secretId }), signal === undefined ? {} : { abortSignal: signal });
    if (typeof reply.SecretString !== 'string' || reply.SecretString === '') {
      throw new ConfigError(`secret ${secretId}`, 'has no string value; store the relay settings as JSON text');
    }
    return parseSmtpSecret(reply.SecretString, secretId);
  }
}
