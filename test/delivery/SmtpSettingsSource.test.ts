/**
 * The relay settings' cache over Secrets Manager (stubbed with aws-sdk-client-mock, the one stub
 * the project allows): fetched once, kept until it expires or is dropped after an AUTH failure.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { SmtpSettingsSource } from '../../lib/delivery/SmtpSettingsSource.js';

const secrets = mockClient(SecretsManagerClient);
const client = (): SecretsManagerClient => new SecretsManagerClient({ region: 'us-east-1' });
const secret = (password: string): string => JSON.stringify({ host: 'relay.example.com', port: 587, username: 'mailer', password });

beforeEach(() => {
  secrets.reset();
});
afterAll(() => {
  secrets.restore();
});

describe('SmtpSettingsSource', () => {
  it('reads the secret once and serves it from the cache until it expires', async () => {
    let now = 1_000;
    secrets
      .on(GetSecretValueCommand, { SecretId: 'relay' })
      .resolvesOnce({ SecretString: secret('one') })
      .resolvesOnce({ SecretString: secret('two') });
    const source = new SmtpSettingsSource({ kind: 'secret', secretId: 'relay' }, { secrets: client, maxAgeMs: 60_000, now: () => now });
    expect(await source.get()).toEqual({
      settings: { host: 'relay.example.com', port: 587, security: 'starttls', username: 'mailer', password: 'one' },
      fresh: true,
    });
    now += 59_999;
    expect((await source.get()).fresh).toBe(false);
    now += 1;
    expect(await source.get()).toMatchObject({ settings: { password: 'two' }, fresh: true });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reads it again after invalidate (an AUTH failure)', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: secret('old') })
      .resolvesOnce({ SecretString: secret('new') });
    const source = new SmtpSettingsSource({ kind: 'secret', secretId: 'relay' }, { secrets: client });
    expect((await source.get()).settings.password).toBe('old');
    source.invalidate();
    expect(await source.get()).toMatchObject({ settings: { password: 'new' }, fresh: true });
  });

  it('refuses a binary or malformed secret, naming the secret', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretBinary: new Uint8Array([1]) })
      .resolvesOnce({ SecretString: '{"host":"relay","prot":1}' });
    const source = new SmtpSettingsSource({ kind: 'secret', secretId: 'relay' }, { secrets: client });
    await expect(source.get()).rejects.toThrow(new ConfigError('secret relay', 'has no string value; store the relay settings as JSON text'));
    await expect(source.get()).rejects.toThrow('secret relay: "prot": unknown field');
  });

  it('passes Secrets Manager errors on, and keeps nothing', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('AccessDeniedException'))
      .resolvesOnce({ SecretString: secret('p') });
    const source = new SmtpSettingsSource({ kind: 'secret', secretId: 'relay' }, { secrets: client });
    await expect(source.get()).rejects.toThrow('AccessDeniedException');
    expect((await source.get()).fresh).toBe(true);
  });

  it('serves SMTP_URL settings without Secrets Manager', async () => {
    const settings = { host: '127.0.0.1', port: 2525, security: 'none' as const };
    const source = new SmtpSettingsSource({ kind: 'url', settings });
    expect(await source.get()).toEqual({ settings, fresh: false });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
