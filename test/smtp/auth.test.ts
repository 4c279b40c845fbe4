import { describe, expect, it } from 'vitest';
import { checkCredentials, chooseMechanism, decodeChallenge, encodeLogin, encodePlain, encodeXoauth2 } from '../../lib/smtp/auth.js';
import { AuthenticationError } from '../../lib/smtp/errors.js';

describe('AUTH encodings', () => {
  it('encodes PLAIN as NUL user NUL pass (RFC 4616)', () => {
    expect(encodePlain('tim', 'tanstaaftanstaaf')).toBe('AHRpbQB0YW5zdGFhZnRhbnN0YWFm');
    expect(Buffer.from(encodePlain('ü@x', 'p€ss'), 'base64').toString('utf8')).toBe('\0ü@x\0p€ss');
  });

  it('encodes LOGIN steps', () => {
    expect(encodeLogin('user@example.com')).toBe('dXNlckBleGFtcGxlLmNvbQ==');
  });

  it('encodes XOAUTH2 as Google documents it', () => {
    expect(Buffer.from(encodeXoauth2('someuser@example.com', 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg'), 'base64').toString()).toBe(
      'user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01',
    );
  });

  it('decodes challenges and ignores non-base64', () => {
    expect(decodeChallenge('VXNlcm5hbWU6')).toBe('Username:');
    expect(decodeChallenge('not base64!')).toBe('');
  });
});

describe('chooseMechanism', () => {
  it('prefers PLAIN, then LOGIN', () => {
    expect(chooseMechanism(['LOGIN', 'PLAIN', 'CRAM-MD5'])).toBe('PLAIN');
    expect(chooseMechanism(['CRAM-MD5', 'LOGIN'])).toBe('LOGIN');
  });

  it('never picks XOAUTH2 unless asked', () => {
    expect(() => chooseMechanism(['XOAUTH2'])).toThrow(AuthenticationError);
    expect(chooseMechanism(['PLAIN', 'XOAUTH2'], 'XOAUTH2')).toBe('XOAUTH2');
  });

  it('refuses a mechanism the server does not offer, naming what it offers', () => {
    expect(() => chooseMechanism(['PLAIN'], 'LOGIN')).toThrow('The server does not offer AUTH LOGIN (it offers: PLAIN)');
    expect(() => chooseMechanism([])).toThrow(/offers: none/);
  });
});

describe('checkCredentials', () => {
  it.each([
    ['user', { user: '', pass: 'x' }],
    ['user', { user: 'a\0b', pass: 'x' }],
    ['pass', { user: 'a', pass: 'line\r\nRCPT TO:<x@y>' }],
    ['pass', { user: 'a', pass: 'tab\x01' }],
  ])('refuses a bad %s without echoing it', (field, credentials) => {
    const error = (() => {
      try {
        checkCredentials(credentials);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error!.message).toContain(`AUTH ${field}`);
    expect(error!.message).not.toContain(credentials.pass.slice(0, 4) || 'never');
  });
});
