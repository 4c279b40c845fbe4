/**
 * The send-mail function's ephemeral storage and the spool budget derived from it (issue 11:
 * offloaded jobs are spooled into /tmp): the construct's prop and default, `MAIL_SPOOL_BYTES`, and
 * `ephemeralStorageMiB` in cdk.json, checked per environment.
 */
import { Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { parseEnvironments } from '../../infra/config.js';
import { InvalidEnvironmentConfigError, InvalidOutboundMailPropsError } from '../../infra/errors.js';
import { functionStorage } from '../../infra/functionStorage.js';
import { OutboundMail } from '../../infra/OutboundMail.js';
import type { OutboundMailProps } from '../../infra/OutboundMail.js';
import { addOutboundMailStacks } from '../../infra/outboundMailApp.js';
import { cdkContext, testApp } from '../support/cdkApp.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq';
const MiB = 1024 * 1024;

function templateOf(props: Partial<OutboundMailProps> = {}): Template {
  const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  new OutboundMail(stack, 'Mail', { smtpSecret: Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN), ...props });
  return Template.fromStack(stack);
}

describe('the function ephemeral storage and MAIL_SPOOL_BYTES', () => {
  // Built as the file loads (the first synthesis loads the CDK: slow on a busy machine), not in a test's time.
  const byDefault = templateOf();

  it('by default: 1024 MiB of /tmp, of which 912 MiB for offloaded jobs', () => {
    byDefault.hasResourceProperties('AWS::Lambda::Function', {
      EphemeralStorage: { Size: 1024 },
      Environment: { Variables: Match.objectLike({ MAIL_SPOOL_BYTES: String(912 * MiB) }) },
    });
  });

  it('ephemeralStorageSize sets both: 2048 MiB, 1936 MiB of spool; Lambda default 512 gives the function default 400 MiB', () => {
    templateOf({ ephemeralStorageSize: Size.mebibytes(2048) }).hasResourceProperties('AWS::Lambda::Function', {
      EphemeralStorage: { Size: 2048 },
      Environment: { Variables: Match.objectLike({ MAIL_SPOOL_BYTES: String(1936 * MiB) }) },
    });
    expect(functionStorage(Size.mebibytes(512)).spoolBytes).toBe(400 * MiB);
  });

  it.each([Size.mebibytes(511), Size.mebibytes(10_241), Size.kibibytes(600_000)])('refuses %s, naming the prop and the range', (size) => {
    expect(() => templateOf({ ephemeralStorageSize: size })).toThrow(InvalidOutboundMailPropsError);
    expect(() => templateOf({ ephemeralStorageSize: size })).toThrow(
      /^OutboundMail: ephemeralStorageSize must be a whole number of MiB from 512 to 10240 \(Lambda's range\), got [\d.]+ MiB$/,
    );
  });
});

describe('ephemeralStorageMiB in cdk.json', () => {
  it('prod sets 2048; the environments without it get the default', () => {
    const environments = parseEnvironments(cdkContext()['environments']);
    expect(Object.fromEntries(Object.entries(environments).map(([name, environment]) => [name, environment.ephemeralStorageMiB]))).toEqual({
      dev: undefined,
      staging: undefined,
      prod: 2048,
    });
    const [prod] = addOutboundMailStacks(testApp({ env: 'prod' }));
    Template.fromStack(prod!).hasResourceProperties('AWS::Lambda::Function', {
      EphemeralStorage: { Size: 2048 },
      Environment: { Variables: Match.objectLike({ MAIL_SPOOL_BYTES: String(1936 * MiB) }) },
    });
  });

  it.each([100, 20_000, 1024.5, '1024'])('refuses %j, naming environments.dev.ephemeralStorageMiB', (value) => {
    const context = cdkContext();
    const environments = context['environments'] as Record<string, Record<string, unknown>>;
    (environments['dev'] as Record<string, unknown>)['ephemeralStorageMiB'] = value;
    let caught: unknown;
    try {
      parseEnvironments(context['environments']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEnvironmentConfigError);
    expect((caught as InvalidEnvironmentConfigError).key).toBe('environments.dev.ephemeralStorageMiB');
  });
});
