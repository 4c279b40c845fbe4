/**
 * A relay with a private CA whose certificate is read at run time (issue 10 s.3): from an SSM
 * parameter (`SMTP_CA_PARAMETER`, served by our SSM stand-in on 127.0.0.1 through the SDK's own
 * `AWS_ENDPOINT_URL_SSM`) or a secret (`SMTP_CA_SECRET_ID`, Secrets Manager stubbed with
 * aws-sdk-client-mock, the one allowed stub). The relay is a real smtp-server whose certificate is
 * signed by a CA made by lib/local/certificate.ts; verification stays on, so the mail goes through
 * only when that CA is the one read. The SQS emulator holds the queues.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { testCertificates } from '../support/certificates.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';
import { startSsmStandIn } from '../support/ssmStandIn.js';
import type { SsmStandIn } from '../support/ssmStandIn.js';

const secrets = mockClient(SecretsManagerClient);
const emulator = useSqsEmulator();
useAwsTestEnvironment();

const CA_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pki/relay-ca-Ab12Cd';
let server: SmtpServerHandle;
let ssm: SsmStandIn;
let savedEndpoint: string | undefined;

beforeAll(async () => {
  [server, ssm] = await Promise.all([startSmtpServer(), startSsmStandIn()]);
  savedEndpoint = process.env['AWS_ENDPOINT_URL_SSM'];
  // The handler's own SSMClient (no client given) finds the stand-in the way it finds any endpoint.
  process.env['AWS_ENDPOINT_URL_SSM'] = ssm.endpoint;
});
afterAll(async () => {
  secrets.restore();
  if (savedEndpoint === undefined) Reflect.deleteProperty(process.env, 'AWS_ENDPOINT_URL_SSM');
  else process.env['AWS_ENDPOINT_URL_SSM'] = savedEndpoint;
  await Promise.all([server.stop(), ssm.close()]);
});
beforeEach(() => {
  secrets.reset();
  ssm.calls.length = 0;
  ssm.parameters.clear();
});
afterEach(() => {
  server.messages.length = 0;
});

function relay(): { kind: 'url'; settings: { host: string; port: number; security: 'starttls'; username: string; password: string } } {
  return { kind: 'url', settings: { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass } };
}

describe('settings', () => {
  const base = {
    SMTP_URL: 'smtp://u:p@relay.example.com:587',
    DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/dlq',
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q',
  };

  it('reads SMTP_CA_PARAMETER (a name or an ARN) and SMTP_CA_SECRET_ID', () => {
    expect(loadConfig({ ...base, SMTP_CA_PARAMETER: '/pki/relay-ca' }).tlsCaLocation).toEqual({ kind: 'parameter', name: '/pki/relay-ca' });
    const arn = 'arn:aws:ssm:eu-west-1:123456789012:parameter/pki/relay-ca';
    expect(loadConfig({ ...base, SMTP_CA_PARAMETER: arn }).tlsCaLocation).toEqual({ kind: 'parameter', name: arn });
    expect(loadConfig({ ...base, SMTP_CA_SECRET_ID: CA_SECRET_ARN }).tlsCaLocation).toEqual({ kind: 'secret', secretId: CA_SECRET_ARN });
    expect(loadConfig(base)).not.toHaveProperty('tlsCaLocation');
  });

  it.each([
    [{ SMTP_CA_PARAMETER: '/pki/ca', SMTP_CA_SECRET_ID: 'pki/ca' }, 'SMTP_CA_SECRET_ID: set only one of SMTP_CA_PARAMETER and SMTP_CA_SECRET_ID'],
    [{ SMTP_CA_FILE: '/var/task/ca.pem', SMTP_CA_PARAMETER: '/pki/ca' }, 'SMTP_CA_PARAMETER: set only one of SMTP_CA_FILE and SMTP_CA_PARAMETER'],
    [{ SMTP_CA_PARAMETER: '/pki/relay ca' }, 'SMTP_CA_PARAMETER: must be an SSM parameter name like /pki/relay-ca (or its ARN), not "/pki/relay ca"'],
    [{ SMTP_CA_PARAMETER: '/pki//ca' }, 'SMTP_CA_PARAMETER: must be an SSM parameter name'],
    [{ SMTP_CA_SECRET_ID: 'pki/relay ca' }, 'SMTP_CA_SECRET_ID: must be a secret name or ARN without spaces'],
  ])('refuses %j', (extra, message) => {
    expect(() => loadConfig({ ...base, ...extra }, () => '-----BEGIN CERTIFICATE-----')).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...extra }, () => '-----BEGIN CERTIFICATE-----')).toThrow(message);
  });
});

describe('the relay reached through a CA read at run time, verification on', () => {
  it('from SSM: delivered; the parameter read once (decrypted) for two batches', async () => {
    ssm.parameters.set('/pki/relay-ca', server.ca);
    const rig = await sendMailRig({ emulator: emulator(), smtp: relay(), tlsCaLocation: { kind: 'parameter', name: '/pki/relay-ca' } });
    const first = await rig.run([mailJob(1), mailJob(2)]);
    const second = await rig.run([mailJob(3)]);
    await expectPlaces(
      rig,
      [...first.records, ...second.records],
      { batchItemFailures: [] },
      ['delivered', 'delivered', 'delivered'],
      server.messages.map((m) => m.raw),
    );
    expect(first.response.batchItemFailures).toEqual([]);
    expect(ssm.calls).toEqual([{ action: 'GetParameter', body: { Name: '/pki/relay-ca', WithDecryption: true } }]);
  });

  it('from a secret: delivered; the secret read once', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: CA_SECRET_ARN }).resolves({ SecretString: server.ca });
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: relay(),
      tlsCaLocation: { kind: 'secret', secretId: CA_SECRET_ARN },
      deps: { secrets: () => new SecretsManagerClient({}) },
    });
    const { records, response } = await rig.run([mailJob(1)]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered'],
      server.messages.map((m) => m.raw),
    );
    await rig.run([mailJob(2)]);
    expect(secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([{ SecretId: CA_SECRET_ARN }]);
    expect(server.messages).toHaveLength(2);
  });

  it('another CA in the parameter: the relay is not trusted, every job retried as systemic (TLS), nothing sent', async () => {
    ssm.parameters.set('/pki/relay-ca', (await testCertificates()).otherCa);
    const rig = await sendMailRig({ emulator: emulator(), smtp: relay(), tlsCaLocation: { kind: 'parameter', name: '/pki/relay-ca' } });
    const { records, response } = await rig.run([mailJob(1), mailJob(2)]);
    await expectPlaces(
      rig,
      records,
      response,
      ['failed', 'failed'],
      server.messages.map((m) => m.raw),
    );
    const alarm = rig.log.lines.find((line) => line.level === 'error' && line.message.startsWith('systemic failure'));
    expect(alarm?.attributes['reason']).toMatchObject({ phase: 'starttls' });
    expect(server.messages).toEqual([]);
  });

  it('a parameter not there yet: systemic (phase secret, naming nothing secret), then read again and delivered once it is', async () => {
    const rig = await sendMailRig({ emulator: emulator(), smtp: relay(), tlsCaLocation: { kind: 'parameter', name: '/pki/relay-ca' } });
    const missing = await rig.run([mailJob(1)]);
    await expectPlaces(rig, missing.records, missing.response, ['failed'], []);
    const alarm = rig.log.lines.find((line) => line.level === 'error' && line.message.startsWith('systemic failure'));
    expect(alarm?.attributes['reason']).toMatchObject({ phase: 'secret', error: 'ParameterNotFound' });
    ssm.parameters.set('/pki/relay-ca', server.ca);
    const { records, response } = await rig.run([mailJob(2)]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered'],
      server.messages.map((m) => m.raw),
    );
    expect(ssm.calls.map((call) => call.action)).toEqual(['GetParameter', 'GetParameter']);
  });

  it('a secret that holds no certificate: systemic, naming the secret and the setting', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"host":"relay"}' });
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: relay(),
      tlsCaLocation: { kind: 'secret', secretId: CA_SECRET_ARN },
      deps: { secrets: () => new SecretsManagerClient({}) },
    });
    const { records, response } = await rig.run([mailJob(1)]);
    await expectPlaces(rig, records, response, ['failed'], []);
    const alarm = rig.log.lines.find((line) => line.level === 'error' && line.message.startsWith('systemic failure'));
    expect(alarm?.attributes['reason']).toMatchObject({
      phase: 'secret',
      error: 'ConfigError',
      text: `SMTP_CA_SECRET_ID: secret ${CA_SECRET_ARN} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    });
  });
});
