/**
 * The messages both clients send in the SMTP benchmark: built once, byte-identical for both.
 * @module
 */

/** One message: its envelope and the complete RFC 5322 text with CRLF line ends. */
export interface BenchMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

const SENDER = 'bench-sender@example.test';
const TARGET_BYTES = 5 * 1024;

/**
 * Builds `count` plain-text messages of about 5 KiB, with 1, 2 or 3 recipients in turn (all in
 * `example.test`, which both `smtp-server` and the test Postfix accept). One body line starts
 * with a dot, so dot-stuffing is part of the work.
 */
export function buildMessages(count: number): BenchMessage[] {
  return Array.from({ length: count }, (_, index) => {
    const to = Array.from({ length: (index % 3) + 1 }, (_, k) => `rcpt${index}-${k}@example.test`);
    const header = [
      `From: Bench Sender <${SENDER}>`,
      `To: ${to.join(', ')}`,
      `Subject: Benchmark message ${index + 1} of ${count}`,
      'Date: Thu, 05 Nov 2026 10:00:00 +0000',
      `Message-ID: <bench-${count}-${index}@example.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
    ];
    const lines = [...header, '', `Hello, this is message ${index + 1}.`, '.a line that starts with a dot'];
    for (let line = 0; lines.join('\r\n').length < TARGET_BYTES; line++) {
      lines.push(`Line ${String(line).padStart(3, '0')}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`);
    }
    return { envelope: { from: SENDER, to }, raw: Buffer.from(`${lines.join('\r\n')}\r\n`, 'ascii') };
  });
}

/** How many recipients the messages have in all (one delivery each). */
export function recipientCount(messages: BenchMessage[]): number {
  return messages.reduce((sum, message) => sum + message.envelope.to.length, 0);
}
