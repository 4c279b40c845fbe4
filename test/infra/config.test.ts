/**
 * The `environments` context of cdk.json: what is accepted, and that every mistake is refused
 * with a message naming the key at fault.
 */
import { describe, expect, it } from 'vitest';
import { parseEnvironments, selectEnvironments } from '../../infra/config.js';
import { InvalidEnvironmentConfigError, UnknownEnvironmentError } from '../../infra/errors.js';
import { cdkContext } from '../support/cdkApp.js';

const DEV = {
  account: '111111111111',
  region: 'eu-west-1',
  secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:outbound-mail/dev/smtp-a1B2c3',
  mailPerConnection: 10,
  maxConnections: 2,
  memorySize: 256,
  timeoutSeconds: 60,
  allowedRecipients: ['example.com'],
};

/** Parses `{ dev: { ...DEV, ...changes } }` and returns the error it throws. */
function errorFor(changes: Record<string, unknown>): InvalidEnvironmentConfigError {
  try {
    parseEnvironments({ dev: { ...DEV, ...changes } });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentConfigError);
    return error as InvalidEnvironmentConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(changes)}`);
}

describe('parseEnvironments', () => {
  it("reads cdk.json's dev, staging and prod, in order, with their values", () => {
    const environments = parseEnvironments(cdkContext()['environments']);
    expect(Object.keys(environments)).toEqual(['dev', 'staging', 'prod']);
    expect(environments['dev']).toEqual({ name: 'dev', ...DEV, logRetentionDays: 7, ledgerRemovalPolicy: 'destroy' });
    expect(environments['staging']).toMatchObject({ name: 'staging', createAlarmTopic: true, account: '222222222222' });
    expect(environments['prod']).toMatchObject({
      name: 'prod',
      account: '333333333333',
      region: 'eu-central-1',
      mailPerConnection: 50,
      maxBatchingWindowSeconds: 5,
      alarmTopicArn: 'arn:aws:sns:eu-central-1:333333333333:ops-alarms',
    });
  });

  it('accepts every optional setting', () => {
    const all = {
      ...DEV,
      maxReceiveCount: 7,
      maxRecipientsPerMessage: 50,
      ephemeralStorageMiB: 4096,
      maxBatchingWindowSeconds: 0,
      visibilityTimeoutSeconds: 400,
      fifo: true,
      alarmTopicArn: 'arn:aws-us-gov:sns:us-gov-west-1:111111111111:alarms',
      oldestMessageAgeAlarmSeconds: 600,
      logRetentionDays: 3653,
    };
    expect(parseEnvironments({ qa: all })).toEqual({ qa: { name: 'qa', ...all } });
  });

  it('refuses a missing, non-object or empty environments context', () => {
    expect(() => parseEnvironments(undefined)).toThrow('cdk.json context "environments" is missing');
    expect(() => parseEnvironments(['dev'])).toThrow('"environments" must be an object of environments by name, got an array');
    expect(() => parseEnvironments({})).toThrow('"environments" is empty');
  });

  it('refuses an environment that is not an object, or whose name cannot be part of a stack name', () => {
    expect(() => parseEnvironments({ dev: 'yes' })).toThrow('"environments.dev" must be an object, got the string "yes"');
    expect(() => parseEnvironments({ 'my env': DEV })).toThrow('"environments.my env" is not a usable environment name');
    expect(() => parseEnvironments({ '1st': DEV })).toThrow(InvalidEnvironmentConfigError);
  });

  it.each(['account', 'region', 'secretCompleteArn', 'mailPerConnection', 'maxConnections', 'memorySize', 'timeoutSeconds'])(
    'names a missing %s',
    (key) => {
      const error = errorFor({ [key]: undefined });
      expect(error.key).toBe(`environments.dev.${key}`);
      expect(error.message).toBe(`cdk.json context "environments.dev.${key}" is missing`);
    },
  );

  it('names an unknown key (a typo) and lists the known ones', () => {
    const error = errorFor({ timeoutSecond: 60 });
    expect(error.key).toBe('environments.dev.timeoutSecond');
    expect(error.message).toMatch(/is not a known setting; known settings are account, region, .*timeoutSeconds/);
  });

  it.each([
    ['timeoutSeconds', '60', 'must be an integer, got the string "60"'],
    ['memorySize', 256.5, 'must be an integer, got number 256.5'],
    ['mailPerConnection', 0, 'must be a positive integer, got 0'],
    ['maxRecipientsPerMessage', 0, 'must be a positive integer, got 0'],
    ['maxBatchingWindowSeconds', -1, 'must be 0 or more, got -1'],
    ['fifo', 'true', 'must be a boolean, got the string "true"'],
    ['account', 111111111111, 'must be a string, got number 111111111111'],
    ['account', '1111', 'must be a 12-digit AWS account id, got "1111"'],
    ['region', 'Europe', 'must be an AWS region like "eu-west-1", got "Europe"'],
    ['alarmTopicArn', 'ops-alarms', 'must be an SNS topic ARN'],
    ['logRetentionDays', 31, "must be one of CloudWatch Logs' retention periods in days (1, 3, 5, 7, 14, 30,"],
  ])('refuses %s = %j', (key, value, problem) => {
    const error = errorFor({ [key]: value });
    expect(error.key).toBe(`environments.dev.${key}`);
    expect(error.message).toContain(problem);
  });

  it.each([
    ['a partial ARN (no suffix)', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:outbound-mail/dev/smtp'],
    ['a secret name', 'outbound-mail/dev/smtp'],
    ['another service', 'arn:aws:ssm:eu-west-1:111111111111:parameter/smtp-a1B2c3'],
    ['a wildcard', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:outbound-mail/*'],
  ])('refuses %s as secretCompleteArn', (_what, value) => {
    const error = errorFor({ secretCompleteArn: value });
    expect(error.key).toBe('environments.dev.secretCompleteArn');
    expect(error.message).toContain('must be the complete ARN of a Secrets Manager secret');
  });

  it('refuses both an existing alarm topic and a created one', () => {
    const error = errorFor({ alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:ops', createAlarmTopic: true });
    expect(error.key).toBe('environments.dev.createAlarmTopic');
    expect(error.message).toContain('cannot be true together with alarmTopicArn');
  });
});

describe('allowedRecipients and production (a non-production stack never mails a real customer)', () => {
  it("every environment of cdk.json but prod lists its allowed recipients; staging's are exactly these", () => {
    const environments = parseEnvironments(cdkContext()['environments']);
    expect(environments['staging']?.allowedRecipients).toEqual(['example.com', '.example.com', 'qa-inbox@example.net']);
    expect(environments['dev']?.allowedRecipients).toEqual(['example.com']);
    expect(environments['staging']?.production).toBeUndefined();
    expect(environments['prod']).toMatchObject({ production: true });
    expect(environments['prod']?.allowedRecipients).toBeUndefined();
  });

  it('requires allowedRecipients of an environment that is not production: true', () => {
    const error = errorFor({ allowedRecipients: undefined });
    expect(error.key).toBe('environments.dev.allowedRecipients');
    expect(error.message).toContain('is missing: an environment that is not "production": true must list the only recipients it may mail');
    expect(errorFor({ allowedRecipients: undefined, production: false }).key).toBe('environments.dev.allowedRecipients');
  });

  it('accepts production without a list, and production with one (a restricted rollout)', () => {
    const { allowedRecipients: _omitted, ...withoutList } = DEV;
    expect(parseEnvironments({ live: { ...withoutList, production: true } })['live']).toEqual({ name: 'live', ...withoutList, production: true });
    expect(parseEnvironments({ live: { ...DEV, production: true } })['live']?.allowedRecipients).toEqual(['example.com']);
  });

  it('accepts addresses, domains and .subdomains', () => {
    const list = ['example.com', '.example.org', 'qa+inbox@example.net', 'a.b-c.example.co.uk'];
    expect(parseEnvironments({ dev: { ...DEV, allowedRecipients: list } })['dev']?.allowedRecipients).toEqual(list);
  });

  it.each([
    ['a string', 'example.com', 'must be an array of strings, got the string "example.com"'],
    ['an empty list', [], 'must list at least one address or domain'],
    ['a number', ['example.com', 7], 'must hold strings only, got 7'],
    ['a wildcard', ['*.example.com'], '"*.example.com" is not an address (name@example.com), a domain (example.com)'],
    ['a display name', ['QA <qa@example.com>'], 'is not an address'],
    ['a single label', ['localhost'], '"localhost" is not an address'],
    ['a comma inside', ['a@example.com,b@example.com'], 'is not an address'],
    ['a space', ['qa @example.com'], 'is not an address'],
    ['a dotted address', ['.qa@example.com'], 'is not an address'],
    ['a duplicate (case-insensitive)', ['example.com', 'Example.COM'], 'lists "Example.COM" twice'],
    ['101 entries', Array.from({ length: 101 }, (_, i) => `d${i}.example.com`), 'must have at most 100 entries, got 101'],
    [
      'over 2048 characters',
      Array.from({ length: 40 }, (_, i) => `${'x'.repeat(50)}${i}.example.com`),
      'characters long once joined; at most 2048 fit',
    ],
  ])('refuses %s', (_what, value, problem) => {
    const error = errorFor({ allowedRecipients: value });
    expect(error.key).toBe('environments.dev.allowedRecipients');
    expect(error.message).toContain(problem);
  });

  it('refuses a production flag that is not a boolean', () => {
    expect(errorFor({ production: 'yes' }).message).toContain('"environments.dev.production" must be a boolean, got the string "yes"');
  });
});

describe('selectEnvironments', () => {
  const environments = parseEnvironments(cdkContext()['environments']);

  it('selects every environment when no -c env is given', () => {
    expect(selectEnvironments(environments, undefined).map((environment) => environment.name)).toEqual(['dev', 'staging', 'prod']);
  });

  it('selects the one environment named by -c env', () => {
    expect(selectEnvironments(environments, 'prod')).toEqual([environments['prod']]);
  });

  it('refuses an unknown environment, naming it and the known ones', () => {
    expect(() => selectEnvironments(environments, 'qa')).toThrow(UnknownEnvironmentError);
    expect(() => selectEnvironments(environments, 'qa')).toThrow('Unknown environment "qa" (-c env=qa): cdk.json defines "dev", "staging", "prod"');
  });

  it('refuses an empty or non-string selection', () => {
    expect(() => selectEnvironments(environments, '')).toThrow('cdk.json context "env" must name one environment, got the string ""');
    expect(() => selectEnvironments(environments, 3)).toThrow('"env" must name one environment, got number 3');
  });
});
