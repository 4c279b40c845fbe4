import { describe, expect, it } from 'vitest';
import { parseAddress, parseBareAddress } from '../../lib/message/address.js';

describe('parseAddress: accepted forms', () => {
  const good: [input: unknown, expected: { name?: string; address: string }][] = [
    ['a@example.com', { address: 'a@example.com' }],
    ['  a@example.com  ', { address: 'a@example.com' }],
    ['first.last+tag@sub.example.co.uk', { address: 'first.last+tag@sub.example.co.uk' }],
    ["o'brien@example.com", { address: "o'brien@example.com" }],
    ['x!#$%&*/=?^_`{|}~-@example.com', { address: 'x!#$%&*/=?^_`{|}~-@example.com' }],
    ['A@EXAMPLE.COM', { address: 'A@example.com' }],
    ['Ada Lovelace <ada@example.com>', { name: 'Ada Lovelace', address: 'ada@example.com' }],
    ['Ada<ada@example.com>', { name: 'Ada', address: 'ada@example.com' }],
    ['<ada@example.com>', { address: 'ada@example.com' }],
    ['J. R. Smith <j@example.com>', { name: 'J. R. Smith', address: 'j@example.com' }],
    ['"Smith, Ann" <ann@example.com>', { name: 'Smith, Ann', address: 'ann@example.com' }],
    ['"Ann (work)" <ann@example.com>', { name: 'Ann (work)', address: 'ann@example.com' }],
    ['"ann@home" <ann@example.com>', { name: 'ann@home', address: 'ann@example.com' }],
    ['Zoë Ångström <zoe@example.org>', { name: 'Zoë Ångström', address: 'zoe@example.org' }],
    ['山田 <yamada@example.jp>', { name: '山田', address: 'yamada@example.jp' }],
    ['ada@bücher.example', { address: 'ada@xn--bcher-kva.example' }],
    ['Ada <ada@BÜCHER.example>', { name: 'Ada', address: 'ada@xn--bcher-kva.example' }],
    ['info@例え.jp', { address: 'info@xn--r8jz45g.jp' }],
    ['user@xn--bcher-kva.example', { address: 'user@xn--bcher-kva.example' }],
    ['jöhn@example.com', { address: 'jöhn@example.com' }],
    ['用户@例え.jp', { address: '用户@xn--r8jz45g.jp' }],
    [{ address: 'a@example.com' }, { address: 'a@example.com' }],
    [
      { name: 'Smith, "Ann"', address: 'ann@example.com' },
      { name: 'Smith, "Ann"', address: 'ann@example.com' },
    ],
    [{ name: '', address: 'ann@example.com' }, { address: 'ann@example.com' }],
    [
      { name: 'Ann', address: 'ann@bücher.example' },
      { name: 'Ann', address: 'ann@xn--bcher-kva.example' },
    ],
    [`${'a'.repeat(64)}@example.com`, { address: `${'a'.repeat(64)}@example.com` }],
  ];
  it.each(good)('%j', (input, expected) => {
    expect(parseAddress(input)).toEqual({ ok: true, address: expected });
  });
});

describe('parseAddress: refused, with a reason', () => {
  const hostile: [input: unknown, reason: RegExp][] = [
    // several addresses
    ['a@example.com, b@example.com', /several addresses/],
    ['a@example.com;b@example.com', /several addresses/],
    ['Ann <a@example.com>, Bob <b@example.com>', /more than one '<'/],
    ['Ann <a@example.com> Bob', /text after the closing/],
    ['a@example.com b@example.com', /spaces/],
    ['Smith, Ann <ann@example.com>', /comma or semicolon/],
    ['Ann; Bob <ann@example.com>', /comma or semicolon/],
    // comments
    ['a@example.com (Ann)', /parentheses/],
    ['Ann (work) <a@example.com>', /parentheses/],
    ['a(comment)@example.com', /parentheses/],
    ['<a@example.com> (comment)', /text after the closing/],
    // quoted local parts and quoting tricks
    ['"a b"@example.com', /quoted local part/],
    ['"a@b"@example.com', /quoted local part/],
    ['Ann <"x"@example.com>', /quoted local part/],
    ['"Ann <ann@example.com>', /opening quote/],
    ['"Ann" Smith <ann@example.com>', /opening quote/],
    ['Ann "the" Smith <ann@example.com>', /quotes that do not enclose/],
    ['"An\\"n" <ann@example.com>', /quotes or backslashes/],
    ['"Ann\\" <ann@example.com>', /quotes or backslashes/],
    ['a\\@b@example.com', /backslash/],
    // group syntax and source routes
    ['friends: a@example.com, b@example.com;', /several addresses|colon/],
    ['undisclosed-recipients:;', /several addresses|colon/],
    ['Team: <a@example.com>', /colon/],
    ['<@relay.example:a@example.com>', /colon/],
    ['a@example.com:25', /colon/],
    // angle brackets
    ['Ann <ann@example.com', /without a closing/],
    ['ann@example.com>', /'>' without a '<'/],
    ['Ann > <ann@example.com>', /before the '<'/],
    ['<<ann@example.com>>', /more than one '<'/],
    ['Ann <>', /empty address/],
    ['<>', /empty address/],
    ['Evil <a@example.com> <b@example.com>', /more than one '<'/],
    [{ name: 'support@bank.example <x>', address: 'x@evil.example' }, /angle brackets/],
    [{ name: 'Ann', address: 'Ann <ann@example.com>' }, /bare address/],
    // control characters and injection
    ['a@example.com\r\nBcc: victim@example.com', /control characters/],
    ['a@example.com\nX-Injected: 1', /control characters/],
    ['a@example.com\r', /control characters/],
    ['Ann\r\n <a@example.com>', /control characters/],
    ['a@exam\u0000ple.com', /control characters/],
    ['a@example.com\u0085', /control characters/],
    ['a\tb@example.com', /control characters/],
    ['Ann\u0007 <a@example.com>', /control characters/],
    [{ name: 'Ann\r\nBcc: x@example.com', address: 'a@example.com' }, /control characters/],
    [{ name: 'Ann', address: 'a@example.com\r\nBcc: x@example.com' }, /control characters/],
    ['Ann\u202e <a@example.com>', /text-direction/],
    ['a\u200b@example.com', /invisible/],
    ['\ufeffa@example.com', /invisible/],
    ['\ud800a@example.com', /lone surrogate/],
    [{ name: 'Ann\udc00', address: 'a@example.com' }, /lone surrogate/],
    // malformed addr-spec
    ['', /empty/],
    ['   ', /empty/],
    ['ann', /no '@'/],
    ['ann@', /domain is empty/],
    ['@example.com', /local part is empty/],
    ['a@b@example.com', /more than one '@'/],
    ['.ann@example.com', /dot at its start/],
    ['ann.@example.com', /dot at its start/],
    ['an..n@example.com', /two dots/],
    ['an[n]@example.com', /not allowed without quoting/],
    ['ann@localhost', /no dot/],
    ['ann@example', /no dot/],
    ['ann@example.com.', /empty label/],
    ['ann@.example.com', /empty label|not a valid domain/],
    ['ann@exa..mple.com', /empty label|not a valid domain/],
    ['ann@-example.com', /letters, digits and hyphens/],
    ['ann@example-.com', /letters, digits and hyphens/],
    ['ann@exa_mple.com', /letters, digits and hyphens|not a valid domain/],
    ['ann@[192.0.2.1]', /address literal/],
    ['ann@192.0.2.1', /numeric label/],
    ['ann@exa%mple.com', /not allowed in a domain/],
    ['ann@example.com/x', /not allowed in a domain/],
    [`ann@${'a'.repeat(64)}.com`, /longer than 63|letters, digits/],
    [`ann@${'abcdefghij.'.repeat(23)}com`, /longer than 253/],
    [`${'a'.repeat(65)}@example.com`, /longer than 64 octets/],
    [`${'ä'.repeat(33)}@example.com`, /longer than 64 octets/],
    [`${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.com`, /longer than 254 octets/],
    [`${'N'.repeat(201)} <ann@example.com>`, /longer than 200/],
    ['x'.repeat(10_000), /too long/],
    ['a\u00a0b@example.com', /spaces/],
    ['a\ue000b@example.com', /space, control/],
    // wrong types and shapes
    [null, /not null/],
    [undefined, /not missing/],
    [42, /not a number/],
    [true, /not true/],
    [['a@example.com'], /not a list/],
    [{}, /has no address/],
    [{ name: 'Ann' }, /has no address/],
    [{ address: 42 }, /address must be a string/],
    [{ name: 7, address: 'a@example.com' }, /name must be a string/],
    [{ address: 'a@example.com', email: 'b@example.com' }, /unknown field "email"/],
    [{ address: 'a@example.com', nmae: 'Ann' }, /unknown field "nmae"/],
  ];
  it.each(hostile)('%j', (input, reason) => {
    const result = parseAddress(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(reason);
  });
  it('has at least 80 hostile cases', () => expect(hostile.length).toBeGreaterThanOrEqual(80));
});

describe('parseBareAddress', () => {
  it('takes a bare address and converts an IDN domain', () => {
    expect(parseBareAddress('ann@bücher.example')).toEqual({ ok: true, address: { address: 'ann@xn--bcher-kva.example' } });
  });
  it.each([['Ann <ann@example.com>'], ['<ann@example.com>']])('refuses a name or brackets: %j', (input) => {
    expect(parseBareAddress(input)).toEqual({ ok: false, problem: expect.stringMatching(/bare address/) });
  });
  it('refuses a non-string', () => {
    expect(parseBareAddress({ address: 'ann@example.com' })).toEqual({ ok: false, problem: 'must be an address string, not an object' });
  });
});
