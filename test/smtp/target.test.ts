import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../lib/smtp/errors.js';
import { defaultPort, describeTarget, isLoopbackAddress, parseTargets } from '../../lib/smtp/target.js';

describe('parseTargets', () => {
  it('reads host, host:port, bracketed and bare IPv6, and unix paths', () => {
    expect(parseTargets(['mx1.example:2525', '[::1]:25', '::1', 'mx2.example', '/run/dovecot/lmtp'], 587)).toEqual([
      { kind: 'tcp', host: 'mx1.example', port: 2525 },
      { kind: 'tcp', host: '::1', port: 25 },
      { kind: 'tcp', host: '::1', port: 587 },
      { kind: 'tcp', host: 'mx2.example', port: 587 },
      { kind: 'unix', path: '/run/dovecot/lmtp' },
    ]);
  });

  it('lets the port in the string win over the option', () => {
    expect(parseTargets('relay.example:465', 587)).toEqual([{ kind: 'tcp', host: 'relay.example', port: 465 }]);
  });

  it.each([[[]], [['']], [['relay.example:']], [['relay.example:99999']], [['relay.example:x']], [['bad host']], [['a\r\nb']], [['-x.example']]])(
    'refuses %j',
    (hosts) => {
      expect(() => parseTargets(hosts, 25)).toThrow(ProtocolError);
    },
  );

  it('names targets for messages', () => {
    expect(describeTarget({ kind: 'tcp', host: '::1', port: 25 })).toBe('[::1]:25');
    expect(describeTarget({ kind: 'tcp', host: 'mx.example', port: 587 })).toBe('mx.example:587');
  });
});

describe('defaultPort', () => {
  it('follows the security mode', () => {
    expect(defaultPort('starttls', 'smtp')).toBe(587);
    expect(defaultPort('opportunistic', 'smtp')).toBe(587);
    expect(defaultPort('implicit', 'smtp')).toBe(465);
    expect(defaultPort('none', 'smtp')).toBe(25);
    expect(defaultPort('none', 'lmtp')).toBe(24);
  });
});

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    [undefined, false],
    ['1.127.0.0', false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});
