/**
 * The send-mail configuration: every setting checked once, errors that name the setting, never a password.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseSmtpSecret, parseSmtpUrl } from '../lib/config.js';
import { SmtpSettingsSource } from '../lib/delivery/SmtpSettingsSource.js';
import { SmtpClient } from '../lib/smtp/index.js';
import { mailJob, sendMailRig } from './support/sendMailHarness.js';
import { startSmtpServer } from './support/smtpServer.js';
import { useSqsEmulator } from './support/sqsQueues.js';

const QUEUES = {
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail-dlq',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail',
};
const CLIENT_NAME_PROBLEM =
  "clientName must be a domain name (letters, digits, '-' and '.', at most 253 characters) or an address literal, as the SMTP client requires";
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function failure(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads a secret-based configuration with the default per-connection count', () => {
    expect(loadConfig({ SMTP_SECRET_ID: 'prod/relay', ...QUEUES })).toEqual({
      smtp: { kind: 'secret', secretId: 'prod/relay' },
      mailPerConnection: 10,
      dlqUrl: QUEUES.DLQ_URL,
      queueUrl: QUEUES.QUEUE_URL,
    });
  });

  it('reads SMTP_URL, MAIL_PER_CONNECTION and SMTP_CA_FILE', () => {
    const config = loadConfig(
      { SMTP_URL: 'smtp://mailer:s3cret@127.0.0.1:2525?security=opportunistic', MAIL_PER_CONNECTION: ' 25 ', SMTP_CA_FILE: '/etc/ca.pem', ...QUEUES },
      (path) => (path === '/etc/ca.pem' ? PEM : ''),
    );
    expect(config).toEqual({
      smtp: { kind: 'url', settings: { host: '127.0.0.1', port: 2525, security: 'opportunistic', username: 'mailer', password: 's3cret' } },
      mailPerConnection: 25,
      dlqUrl: QUEUES.DLQ_URL,
      queueUrl: QUEUES.QUEUE_URL,
      tlsCa: PEM,
    });
  });

  it.each([
    [{ ...QUEUES }, 'SMTP_SECRET_ID', 'missing: set SMTP_SECRET_ID (a Secrets Manager secret) or SMTP_URL (smtp://user:pass@host:587)'],
    [{ SMTP_SECRET_ID: 'a', SMTP_URL: 'smtp://h', ...QUEUES }, 'SMTP_SECRET_ID', 'set either SMTP_SECRET_ID or SMTP_URL, not both'],
    [{ SMTP_SECRET_ID: 'a b', ...QUEUES }, 'SMTP_SECRET_ID', 'must be a secret name or ARN without spaces'],
    [
      { SMTP_SECRET_ID: 'a', QUEUE_URL: QUEUES.QUEUE_URL },
      'DLQ_URL',
      'missing: set it to the queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)',
    ],
    [{ SMTP_SECRET_ID: 'a', DLQ_URL: QUEUES.DLQ_URL, QUEUE_URL: 'mail' }, 'QUEUE_URL', 'not a URL: "mail"'],
    [{ SMTP_SECRET_ID: 'a', DLQ_URL: 'ftp://x/q', QUEUE_URL: QUEUES.QUEUE_URL }, 'DLQ_URL', 'must be an http(s) queue URL, not ftp:'],
    [
      { SMTP_SECRET_ID: 'a', DLQ_URL: 'https://sqs.example.com/', QUEUE_URL: QUEUES.QUEUE_URL },
      'DLQ_URL',
      'has no queue name: "https://sqs.example.com/"',
    ],
    [{ SMTP_SECRET_ID: 'a', MAIL_PER_CONNECTION: '0', ...QUEUES }, 'MAIL_PER_CONNECTION', 'must be a whole number from 1 to 1000, not 0'],
    [{ SMTP_SECRET_ID: 'a', MAIL_PER_CONNECTION: '2.5', ...QUEUES }, 'MAIL_PER_CONNECTION', 'must be a whole number from 1 to 1000, not "2.5"'],
    [{ SMTP_SECRET_ID: 'a', MAIL_PER_CONNECTION: '1001', ...QUEUES }, 'MAIL_PER_CONNECTION', 'must be a whole number from 1 to 1000, not 1001'],
    [{ SMTP_SECRET_ID: 'a', MAIL_MAX_RECIPIENTS: '0', ...QUEUES }, 'MAIL_MAX_RECIPIENTS', 'must be a whole number from 1 to 1000, not 0'],
    [{ SMTP_SECRET_ID: 'a', MAIL_MAX_RECIPIENTS: '-5', ...QUEUES }, 'MAIL_MAX_RECIPIENTS', 'must be a whole number from 1 to 1000, not "-5"'],
    [
      { SMTP_SECRET_ID: 'a', MAIL_MAX_RECIPIENTS: '50 per message', ...QUEUES },
      'MAIL_MAX_RECIPIENTS',
      'must be a whole number from 1 to 1000, not "50 per message"',
    ],
    [{ SMTP_SECRET_ID: 'a', MAIL_MAX_RECIPIENTS: '1001', ...QUEUES }, 'MAIL_MAX_RECIPIENTS', 'must be a whole number from 1 to 1000, not 1001'],
    [{ SMTP_SECRET_ID: 'a', MAIL_MAX_RECEIVES: '0', ...QUEUES }, 'MAIL_MAX_RECEIVES', 'must be a whole number from 1 to 1000, not 0'],
    [{ SMTP_SECRET_ID: 'a', MAIL_MAX_RECEIVES: 'five', ...QUEUES }, 'MAIL_MAX_RECEIVES', 'must be a whole number from 1 to 1000, not "five"'],
    [{ SMTP_SECRET_ID: 'a', MAIL_MAX_RECEIVES: '1001', ...QUEUES }, 'MAIL_MAX_RECEIVES', 'must be a whole number from 1 to 1000, not 1001'],
    [
      { SMTP_SECRET_ID: 'a', MAIL_ENVIRONMENT: 'prod eu', ...QUEUES },
      'MAIL_ENVIRONMENT',
      'must be an environment name (a letter, then letters, digits or "-", at most 64), not "prod eu"',
    ],
    [
      { SMTP_SECRET_ID: 'a', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', ...QUEUES },
      'MAIL_ENVIRONMENT',
      "missing: set it to the environment's name (e.g. prod), the Environment dimension of every metric",
    ],
  ])('refuses %j: %s', (env, setting, problem) => {
    const error = failure(() => loadConfig(env));
    expect(error.setting).toBe(setting);
    expect(error.message).toBe(`${setting}: ${problem}`);
  });

  it('reads MAIL_MAX_RECIPIENTS (optional: absent or blank means no limit of ours)', () => {
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_MAX_RECIPIENTS: ' 50 ', ...QUEUES }).maxRecipientsPerMessage).toBe(50);
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_MAX_RECIPIENTS: '', ...QUEUES })).not.toHaveProperty('maxRecipientsPerMessage');
    expect(loadConfig({ SMTP_SECRET_ID: 'a', ...QUEUES })).not.toHaveProperty('maxRecipientsPerMessage');
  });

  it('reads MAIL_MAX_RECEIVES (optional: unset, SQS moves jobs after the last receive as before)', () => {
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_MAX_RECEIVES: ' 5 ', ...QUEUES }).maxReceives).toBe(5);
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_MAX_RECEIVES: '1000', ...QUEUES }).maxReceives).toBe(1000);
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_MAX_RECEIVES: '', ...QUEUES })).not.toHaveProperty('maxReceives');
  });

  it('reads MAIL_ENVIRONMENT (required only in a deployed function)', () => {
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_ENVIRONMENT: 'prod', ...QUEUES }).environment).toBe('prod');
    expect(loadConfig({ SMTP_SECRET_ID: 'a', MAIL_ENVIRONMENT: 'local', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', ...QUEUES }).environment).toBe(
      'local',
    );
    expect(loadConfig({ SMTP_SECRET_ID: 'a', ...QUEUES })).not.toHaveProperty('environment');
  });

  it('names SMTP_CA_FILE when it cannot be read or holds no certificate', () => {
    const unreadable = failure(() =>
      loadConfig({ SMTP_SECRET_ID: 'a', SMTP_CA_FILE: '/nope.pem', ...QUEUES }, () => {
        throw Object.assign(new Error('no'), { code: 'ENOENT' });
      }),
    );
    expect(unreadable.message).toBe('SMTP_CA_FILE: cannot read /nope.pem (ENOENT)');
    const empty = failure(() => loadConfig({ SMTP_SECRET_ID: 'a', SMTP_CA_FILE: '/x.pem', ...QUEUES }, () => 'hello'));
    expect(empty.message).toBe('SMTP_CA_FILE: /x.pem holds no PEM certificate');
  });
});

describe('parseSmtpUrl', () => {
  it('takes smtps as implicit TLS and percent-decodes the credentials', () => {
    expect(parseSmtpUrl('smtps://me%40example.com:p%3Ass@relay.example.com')).toEqual({
      host: 'relay.example.com',
      security: 'implicit',
      username: 'me@example.com',
      password: 'p:ss',
    });
  });

  it('takes clientName and from, and leaves the port to the client when absent', () => {
    expect(parseSmtpUrl('smtp://relay.example.com?clientName=mailer.example.com&from=noreply%40example.com')).toEqual({
      host: 'relay.example.com',
      security: 'starttls',
      clientName: 'mailer.example.com',
      from: 'noreply@example.com',
    });
  });

  it.each([
    ['not a url', 'not a URL; expected smtp://user:pass@host:587 or smtps://user:pass@host:465'],
    ['http://user:hunter2@relay', 'scheme must be smtp: or smtps:, not http:'],
    ['smtp://user:hunter2@relay:70000', 'not a URL; expected smtp://user:pass@host:587 or smtps://user:pass@host:465'],
    ['smtp://user:hunter2@relay/path', 'must not have a path'],
    ['smtp://user:hunter2@relay?security=tls', 'security must be one of starttls, opportunistic, implicit, none'],
    ['smtps://user:hunter2@relay?security=none', 'smtps: means implicit TLS; use smtp: with security=none'],
    ['smtp://user:hunter2@relay?secure=1', 'unknown parameter "secure" (known: security, clientName, from)'],
    ['smtp://user@relay', 'give both user name and password, or neither'],
    ['smtp://user:hunter2@relay?clientName=bad%20name', CLIENT_NAME_PROBLEM],
    ['smtp://user:%E0%A4%A@relay', 'password is not valid percent-encoding'],
    ['smtp://user:hunter2@relay?from=noreply', 'from "noreply" is not a sender address: "noreply" has no \'@\''],
  ])('refuses %s without repeating the password', (url, problem) => {
    const error = failure(() => parseSmtpUrl(url));
    expect(error.message).toBe(`SMTP_URL: ${problem}`);
    expect(error.message).not.toContain('hunter2');
  });
});

describe('parseSmtpSecret', () => {
  it('reads the documented fields; port may be a string of digits', () => {
    expect(
      parseSmtpSecret(
        JSON.stringify({
          host: 'relay.example.com',
          port: '587',
          username: 'u',
          password: 'p',
          security: 'starttls',
          clientName: 'mailer.example.com',
          from: 'noreply@example.com',
        }),
        'relay',
      ),
    ).toEqual({
      host: 'relay.example.com',
      port: 587,
      security: 'starttls',
      username: 'u',
      password: 'p',
      clientName: 'mailer.example.com',
      from: 'noreply@example.com',
    });
  });

  it.each([
    ['{', 'secret relay: is not JSON; expected {"host","port","username","password"}'],
    ['[]', 'secret relay: must be a JSON object {"host","port","username","password"}'],
    ['{"port":587}', 'secret relay: "host": missing'],
    ['{"host":"relay","port":true}', 'secret relay: "port": must be a number'],
    ['{"host":"relay","port":0}', 'secret relay: "port": port must be a whole number from 1 to 65535'],
    ['{"host":"relay","username":"u"}', 'secret relay: "password": missing: give both username and password, or neither'],
    ['{"host":"relay","username":"u","password":"hunter2\\n"}', 'secret relay: "password": must not contain control characters'],
    [
      '{"host":"relay","security":"ssl","password":"hunter2","username":"u"}',
      'secret relay: "security": security must be one of starttls, opportunistic, implicit, none',
    ],
    ['{"host":"relay","pass":"hunter2"}', 'secret relay: "pass": unknown field (known: host, port, username, password, security, clientName, from)'],
    ['{"host":"relay host"}', 'secret relay: "host": host must be a host name or an address literal'],
    [
      '{"host":"relay","from":"a@b.example, c@d.example"}',
      'secret relay: "from": from "a@b.example, c@d.example" is not a sender address: "a@b.example, c@d.example" contains several addresses: give them as a list',
    ],
  ])('refuses %s', (text, message) => {
    const error = failure(() => parseSmtpSecret(text, 'relay'));
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('hunter2');
  });
});

/** A 254-character domain name: four 63-letter labels and "ab", dots between. */
const LONG_NAME = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`.slice(0, 250) + '.xyz';

describe("clientName: the SMTP client's own rule, at cold start", () => {
  it.each([
    ['an underscore', 'mail_out.example.com'],
    ['over 253 characters', LONG_NAME],
    ['a leading hyphen', '-mailer.example.com'],
    ['a space', 'mailer example.com'],
  ])('refuses a name with %s in SMTP_URL, naming the setting', (_what, name) => {
    expect(LONG_NAME).toHaveLength(254);
    const error = failure(() => loadConfig({ SMTP_URL: `smtp://u:hunter2@relay.example.com:587?clientName=${encodeURIComponent(name)}`, ...QUEUES }));
    expect(error.setting).toBe('SMTP_URL');
    expect(error.message).toBe(`SMTP_URL: ${CLIENT_NAME_PROBLEM}`);
  });

  it('refuses it in the secret, naming the secret and the field', () => {
    const error = failure(() => parseSmtpSecret(JSON.stringify({ host: 'relay.example.com', clientName: 'mail_out.example.com' }), 'relay'));
    expect(error.setting).toBe('secret relay: "clientName"');
    expect(error.message).toBe(`secret relay: "clientName": ${CLIENT_NAME_PROBLEM}`);
  });

  it.each([
    'mailer.example.com',
    'a',
    `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
    '[127.0.0.1]',
    '[IPv6:::1]',
    'mail_out.example.com',
    LONG_NAME,
    'bad-.example.com',
    'a b',
  ])('accepts %s exactly when the SMTP client does', async (name) => {
    // The client refuses a bad name in connect(), before it opens a socket.
    const client = await SmtpClient.connect({ host: '127.0.0.1', port: 9, security: 'none', clientName: name, timeouts: { connectMs: 200 } }).then(
      (connected) => {
        connected.close();
        return true;
      },
      (error: unknown) => (error as Error).name !== 'ProtocolError',
    );
    const config = (() => {
      try {
        parseSmtpSecret(JSON.stringify({ host: 'relay.example.com', clientName: name }), 'relay');
        return true;
      } catch {
        return false;
      }
    })();
    expect(config).toBe(client);
  });
});

describe('clientName in the secret, read at run time', () => {
  const secrets = mockClient(SecretsManagerClient);
  const emulator = useSqsEmulator();
  afterAll(() => {
    secrets.restore();
  });

  it("a bad one is a ConfigError naming the secret field, and the batch's systemic reason says so", async () => {
    // Prepare: a working relay, but a secret whose clientName the client would refuse at EHLO.
    const server = await startSmtpServer();
    try {
      const secret = JSON.stringify({
        host: server.host,
        port: server.port,
        username: server.user,
        password: server.pass,
        clientName: 'mail_out.example.com',
      });
      secrets.on(GetSecretValueCommand, { SecretId: 'relay' }).resolves({ SecretString: secret });
      const source = new SmtpSettingsSource(
        { kind: 'secret', secretId: 'relay' },
        { secrets: () => new SecretsManagerClient({ region: 'eu-west-1' }) },
      );
      await expect(source.get()).rejects.toThrow(new ConfigError('secret relay: "clientName"', CLIENT_NAME_PROBLEM));
      const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'secret', secretId: 'relay' }, tlsCa: server.ca });
      // Act
      const { response, records } = await rig.run([mailJob(1)]);
      // Assess: retried, never sent; the alarm line names the setting, and no EHLO reached the relay.
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.messageId }]);
      const alarm = rig.log.lines.find((line) => line.message.startsWith('systemic failure'));
      expect(alarm?.attributes['reason']).toMatchObject({ phase: 'secret', error: 'ConfigError' });
      expect((alarm?.attributes['reason'] as { text: string }).text).toContain(`secret relay: "clientName": ${CLIENT_NAME_PROBLEM}`);
      expect(server.messages).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
