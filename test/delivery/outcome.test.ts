/**
 * The pure outcome rules: an SMTP result or error in, one tagged outcome out.
 */
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConnectionError,
  DataRefusedError,
  MessageTooLargeError,
  ProtocolError,
  RecipientsRefusedError,
  SenderRefusedError,
  TimeoutError,
  TlsRequiredError,
} from '../../lib/smtp/errors.js';
import { isTooManyRecipients, needsRetry, outcomeOfConnectError, outcomeOfResult, outcomeOfSendError } from '../../lib/delivery/outcome.js';
import type { RefusedRecipient } from '../../lib/smtp/types.js';

const refusal = (recipient: string, code: number): RefusedRecipient => ({ recipient, code, message: `${code} no`, transient: code < 500 });

describe('outcomeOfResult', () => {
  it('delivered when nobody was refused', () => {
    expect(outcomeOfResult({ accepted: ['a@x.example', 'b@x.example'], rejected: [], reply: { code: 250, lines: ['ok'] } })).toEqual({
      kind: 'delivered',
      accepted: 2,
    });
  });

  it('partly refused, with 5xx and 4xx refusals apart', () => {
    const gone = refusal('gone@x.example', 550);
    const later = refusal('later@x.example', 451);
    expect(outcomeOfResult({ accepted: ['a@x.example'], rejected: [gone, later], reply: { code: 250, lines: ['ok'] } })).toEqual({
      kind: 'partlyRefused',
      accepted: 1,
      refusedPermanently: [gone],
      refusedForNow: [later],
    });
  });
});

describe('outcomeOfSendError', () => {
  it.each([
    ['5xx on MAIL', new SenderRefusedError('refused', { phase: 'mail', code: 550, enhancedCode: '5.7.1' }), 'permanent'],
    ['4xx on MAIL', new SenderRefusedError('later', { phase: 'mail', code: 451 }), 'transient'],
    ['5xx on the data', new DataRefusedError('spam', { phase: 'data', code: 554 }), 'permanent'],
    ['4xx on the data', new DataRefusedError('later', { phase: 'data', code: 452 }), 'transient'],
    ['too large by SIZE (no reply)', new MessageTooLargeError('too big', { phase: 'mail', transient: false }), 'permanent'],
    ['too large by SIZE, flagged transient by default', new MessageTooLargeError('too big', { phase: 'mail' }), 'permanent'],
    ['552 too large', new MessageTooLargeError('too big', { phase: 'data', code: 552 }), 'permanent'],
    ['452 out of storage', new MessageTooLargeError('full', { phase: 'mail', code: 452 }), 'transient'],
    ['421 before the dot', new ConnectionError('bye', { phase: 'rcpt', code: 421 }), 'transient'],
    ['a drop before the dot', new ConnectionError('closed', { phase: 'data' }), 'transient'],
    ['a command timeout', new TimeoutError('slow', { phase: 'rcpt' }), 'transient'],
    ['a drop after the dot', new ConnectionError('closed', { phase: 'data', ambiguous: true }), 'ambiguous'],
    ['a timeout after the dot', new TimeoutError('slow', { phase: 'data', ambiguous: true }), 'ambiguous'],
    ['a permanent protocol misuse', new ProtocolError('bad address', { phase: 'rcpt', transient: false }), 'permanent'],
    ['an unexpected error', new TypeError('boom'), 'transient'],
  ])('%s → %s', (_, error, kind) => {
    expect(outcomeOfSendError(error).kind).toBe(kind);
  });

  it('keeps phase, codes, text and error class as the reason', () => {
    expect(outcomeOfSendError(new DataRefusedError('Content refused: 554 5.6.0 spam', { phase: 'data', code: 554, enhancedCode: '5.6.0' }))).toEqual({
      kind: 'permanent',
      reason: { phase: 'data', code: 554, enhancedCode: '5.6.0', message: 'Content refused: 554 5.6.0 spam', error: 'DataRefusedError' },
    });
  });

  it('every recipient refused: all 5xx permanent, all 4xx transient, a mix partly refused with nobody accepted', () => {
    const gone = refusal('gone@x.example', 550);
    const later = refusal('later@x.example', 450);
    const all = (rejected: RefusedRecipient[]) =>
      outcomeOfSendError(
        new RecipientsRefusedError('all refused', { phase: 'rcpt', code: rejected[0]!.code, transient: rejected.some((r) => r.transient), rejected }),
      );
    expect(all([gone])).toMatchObject({ kind: 'permanent', reason: { phase: 'rcpt', refused: [gone] } });
    expect(all([later])).toMatchObject({ kind: 'transient', reason: { refused: [later] } });
    expect(all([gone, later])).toEqual({ kind: 'partlyRefused', accepted: 0, refusedPermanently: [gone], refusedForNow: [later] });
  });
});

describe('outcomeOfConnectError', () => {
  it.each([
    new ConnectionError('refused', { phase: 'connect' }),
    new TimeoutError('no greeting', { phase: 'greeting' }),
    new TlsRequiredError('no STARTTLS', { phase: 'starttls', transient: false }),
    new AuthenticationError('535', { phase: 'auth', code: 535 }),
    new Error('anything'),
  ])('is systemic: %s', (error) => {
    const outcome = outcomeOfConnectError(error);
    expect(outcome.kind).toBe('systemic');
    expect(needsRetry(outcome)).toBe(true);
  });
});

describe('needsRetry', () => {
  it('holds for transient, ambiguous, not attempted and systemic only', () => {
    const reason = { phase: 'data' as const, message: 'x' };
    expect(needsRetry({ kind: 'delivered', accepted: 1 })).toBe(false);
    expect(needsRetry({ kind: 'partlyRefused', accepted: 1, refusedPermanently: [], refusedForNow: [] })).toBe(false);
    expect(needsRetry({ kind: 'permanent', reason })).toBe(false);
    expect(needsRetry({ kind: 'transient', reason })).toBe(true);
    expect(needsRetry({ kind: 'ambiguous', reason })).toBe(true);
    expect(needsRetry({ kind: 'notAttempted', cause: 'outOfTime' })).toBe(true);
  });
});

describe('isTooManyRecipients', () => {
  it.each([
    [452, '4.5.3', 'Error: too many recipients', true],
    [552, '5.5.3', 'Too many recipients', true],
    [452, undefined, 'Too many recipients', true], // no enhanced codes: the text decides
    [552, '5.2.2', 'Too many recipients for this message', true], // a wrong enhanced code, but the text says so
    [452, '4.5.3', 'Recipient limit reached', true],
    [452, '4.3.1', 'Insufficient system storage', false],
    [552, '5.2.2', 'Mailbox full', false],
    [552, '5.3.4', 'Message too big', false],
    [550, '5.5.3', 'Too many recipients', false], // only 452 and 552 (RFC 5321 4.5.3.1.10)
    [451, undefined, 'Too many recipients, try later', false],
  ])('%i %s %j → %s', (code, enhancedCode, message, expected) => {
    expect(isTooManyRecipients({ code, ...(enhancedCode === undefined ? {} : { enhancedCode }), message })).toBe(expected);
  });

  it('makes a 552 "too many recipients" a refusal for now in results and errors', () => {
    const tooMany: RefusedRecipient = {
      recipient: 'b@example.com',
      code: 552,
      enhancedCode: '5.5.3',
      message: 'Too many recipients',
      transient: false,
    };
    expect(outcomeOfResult({ accepted: ['a@example.com'], rejected: [tooMany], reply: { code: 250, lines: ['ok'] } })).toEqual({
      kind: 'partlyRefused',
      accepted: 1,
      refusedPermanently: [],
      refusedForNow: [tooMany],
    });
    const error = new RecipientsRefusedError('every recipient refused', { phase: 'rcpt', code: 552, transient: false, rejected: [tooMany] });
    expect(outcomeOfSendError(error).kind).toBe('transient');
  });
});
