import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../lib/smtp/errors.js';
import type { Failure } from '../../lib/smtp/failure.js';
import { MAX_HELD_OCTETS, MAX_HELD_OCTETS_PER_REPLY, ReplyStream } from '../../lib/smtp/ReplyStream.js';

/** A stream wired as the connection wires it: a failure stops it. */
function stream() {
  const log: string[] = [];
  const failures: Failure[] = [];
  const replies: ReplyStream = new ReplyStream({
    log: (line) => log.push(line),
    fail: (failure) => {
      failures.push(failure);
      replies.stop((phase) => new ProtocolError(failure.message, { phase }));
    },
  });
  return { replies, log, failures, push: (text: string) => replies.receive(Buffer.from(text, 'latin1')) };
}

describe('ReplyStream', () => {
  it('expects the greeting, then exactly what each write asked for, held in order until read', () => {
    const { replies, push, failures } = stream();
    push('220 ready\r\n');
    replies.expect(3);
    push('250 a\r\n250 b\r\n354 c\r\n');
    expect([replies.take(), replies.take(), replies.take(), replies.take(), replies.take()].map((r) => r?.code)).toEqual([
      220,
      250,
      250,
      354,
      undefined,
    ]);
    expect(replies.owed).toBe(0);
    expect(failures).toEqual([]);
  });

  it('fails on a reply no write asked for, logs it, and drops the replies held', () => {
    const { replies, push, failures, log } = stream();
    push('220 ready\r\n250 stray\r\n');
    expect(failures).toEqual([{ kind: 'protocol', message: 'Unexpected reply: the server sent a reply no command asked for: 250 stray' }]);
    expect(log).toEqual(['220 ready', '250 stray']);
    expect(replies.take()).toBeUndefined();
  });

  it('takes an unasked 421 for the server closing (transient), keeping what was held', () => {
    const { replies, push, failures } = stream();
    push('220 ready\r\n421 4.3.2 going down\r\n');
    expect(failures).toEqual([{ kind: 'closed', message: 'The server is closing the connection: 421 going down', code: 421, enhancedCode: '4.3.2' }]);
    expect(replies.take()?.code).toBe(220);
  });

  it('takes an unasked 552 for the message being refused as too large (in the middle of its content), keeping what was held', () => {
    const { replies, push, failures } = stream();
    push('220 ready\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n');
    expect(failures).toEqual([
      {
        kind: 'tooLarge',
        message: 'The server refused the message as too large: 552 5.3.4 Message size exceeds fixed maximum message size',
        code: 552,
        enhancedCode: '5.3.4',
      },
    ]);
    expect(replies.take()?.code).toBe(220);
  });

  it('stops at the first stray reply of a flood and reads nothing after it', () => {
    const { replies, push, failures, log } = stream();
    push('220 ready\r\n');
    replies.take();
    const flood = '250 flood\r\n'.repeat(6_000);
    for (let i = 0; i < 1_000; i += 1) push(flood); // 66 MB
    expect(failures).toHaveLength(1);
    expect(log).toEqual(['220 ready', '250 flood']);
  });

  it('fails once replies held for readers pass the cap with long replies', () => {
    const { replies, push, failures } = stream();
    replies.expect(100);
    const big = `${`250-${'x'.repeat(4_000)}\r\n`.repeat(15)}250 end\r\n`;
    for (let i = 0; i < 20 && failures.length === 0; i += 1) push(big);
    expect(failures).toEqual([{ kind: 'protocol', message: `The server sent over ${MAX_HELD_OCTETS} octets of replies ahead of the client` }]);
  });

  it('holds the many short replies of a large pipelined batch past the cap', () => {
    const { replies, push, failures } = stream();
    const count = 40_000;
    push('220 ready\r\n');
    replies.expect(count);
    push('250 2.1.5 Recipient ok, and some text a real server adds\r\n'.repeat(count));
    expect(count * 60).toBeGreaterThan(MAX_HELD_OCTETS);
    expect(failures).toEqual([]);
    expect(replies.owed).toBe(0);
    expect(MAX_HELD_OCTETS_PER_REPLY).toBeGreaterThan(60);
  });

  it('release: replies counted that will not come; more than that already arrived is a stray', () => {
    const ok = stream();
    ok.push('220 ready\r\n');
    ok.replies.expect(4);
    ok.push('250 mail\r\n250 rcpt\r\n');
    ok.replies.release(1);
    ok.push('250 final\r\n');
    expect(ok.replies.owed).toBe(0);
    expect(ok.failures).toEqual([]);

    const extra = stream();
    extra.replies.expect(3);
    extra.push('220 ready\r\n250 a\r\n250 b\r\n250 c\r\n');
    extra.replies.release(1);
    expect(extra.failures).toEqual([{ kind: 'protocol', message: 'Unexpected reply: the server sent 1 more reply than the commands asked for' }]);
  });

  it('drops what follows a 220 to STARTTLS until reset, but not what follows a refusal', () => {
    const switching = stream();
    switching.push('220 ready\r\n');
    switching.replies.take();
    switching.replies.expectTlsSwitch();
    switching.push('220 go ahead\r\n250 injected\r\n');
    switching.push('250 more injected\r\n');
    expect(switching.replies.take()?.code).toBe(220);
    expect(switching.replies.take()).toBeUndefined();
    expect(switching.failures).toEqual([]);
    switching.replies.reset();
    switching.replies.expect(1);
    switching.push('250 after the handshake\r\n');
    expect(switching.replies.take()?.lines).toEqual(['after the handshake']);

    const refused = stream();
    refused.push('220 ready\r\n');
    refused.replies.expectTlsSwitch();
    refused.push('454 4.7.0 TLS not available\r\n250 stray\r\n');
    expect(refused.failures).toHaveLength(1);
  });
});
