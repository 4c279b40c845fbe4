import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ConfigError } from '../../lib/config/ConfigError.js';
import { readPayloadLimits, readPayloadSettings } from '../../lib/config/payloadBucket.js';

describe('MAIL_PAYLOAD_BUCKET', () => {
  it('is optional; path-style addressing follows AWS_ENDPOINT_URL_S3 (a local emulator)', () => {
    expect(readPayloadSettings({})).toBeUndefined();
    expect(readPayloadSettings({ MAIL_PAYLOAD_BUCKET: ' outbound-mail-dev-payloads ' })).toEqual({
      bucket: 'outbound-mail-dev-payloads',
      forcePathStyle: false,
    });
    expect(readPayloadSettings({ MAIL_PAYLOAD_BUCKET: 'local-payloads', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566' })).toEqual({
      bucket: 'local-payloads',
      forcePathStyle: true,
    });
  });

  it.each(['Upper', 'a', 'under_score', '-starts-with-hyphen', 'x'.repeat(64)])('refuses %j, naming the setting', (bucket) => {
    expect(() => readPayloadSettings({ MAIL_PAYLOAD_BUCKET: bucket })).toThrow(ConfigError);
    expect(() => readPayloadSettings({ MAIL_PAYLOAD_BUCKET: bucket })).toThrow(/MAIL_PAYLOAD_BUCKET/);
  });

  it('reaches the configuration', () => {
    const config = loadConfig({
      SMTP_URL: 'smtp://u:p@127.0.0.1:2525',
      QUEUE_URL: 'http://q/1/mail',
      DLQ_URL: 'http://q/1/dlq',
      MAIL_PAYLOAD_BUCKET: 'mail-payloads',
    });
    expect(config.payload).toEqual({ bucket: 'mail-payloads', forcePathStyle: false });
  });
});

describe('MAIL_SPOOL_BYTES and MAIL_MAX_MESSAGE_BYTES', () => {
  it('are optional (the defaults: 400 MiB of spool, 40 MiB per job); one given, the other keeps its default', () => {
    expect(readPayloadLimits({})).toBeUndefined();
    expect(readPayloadLimits({ MAIL_SPOOL_BYTES: ' 943718400 ' })).toEqual({ spoolBytes: 943_718_400, maxMessageBytes: 41_943_040 });
    expect(readPayloadLimits({ MAIL_MAX_MESSAGE_BYTES: '10485760' })).toEqual({ spoolBytes: 419_430_400, maxMessageBytes: 10_485_760 });
  });

  it.each([
    ['MAIL_SPOOL_BYTES', '400MiB'],
    ['MAIL_SPOOL_BYTES', '-1'],
    ['MAIL_SPOOL_BYTES', '1000'],
    ['MAIL_SPOOL_BYTES', String(10_241 * 1024 * 1024)],
    ['MAIL_MAX_MESSAGE_BYTES', '4.5e7'],
    ['MAIL_MAX_MESSAGE_BYTES', String(1024 * 1024 * 1024 + 1)],
  ])('refuses %s=%j, naming the setting and the range', (setting, value) => {
    expect(() => readPayloadLimits({ [setting]: value })).toThrow(ConfigError);
    expect(() => readPayloadLimits({ [setting]: value })).toThrow(
      new RegExp(`${setting}.*must be a whole number of octets from 262144 to \\d+, not "${value.replace('.', '\\.')}"`),
    );
  });

  it('reach the configuration', () => {
    const config = loadConfig({
      SMTP_URL: 'smtp://u:p@127.0.0.1:2525',
      QUEUE_URL: 'http://q/1/mail',
      DLQ_URL: 'http://q/1/dlq',
      MAIL_SPOOL_BYTES: '943718400',
      MAIL_MAX_MESSAGE_BYTES: '41943040',
    });
    expect(config.payloadLimits).toEqual({ spoolBytes: 943_718_400, maxMessageBytes: 41_943_040 });
  });
});
