import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ConfigError } from '../../lib/config/ConfigError.js';
import { readPayloadSettings } from '../../lib/config/payloadBucket.js';

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
