/**
 * Raw messages for the raw claim-check tests: a producer's ready-made message of any size, and the
 * raw job that carries it.
 * @module
 */

/**
 * A raw message of about `size` characters as another mail library might hand it over: LF line
 * ends (some CRLF), 8-bit UTF-8 text, lines that start with a dot (stuffed on the wire), lines up
 * to 998 octets.
 */
export function bigRawMessage(size: number, to = 'big@example.com'): string {
  const header = [
    'From: Reports <reports@example.com>',
    `To: ${to}`,
    'Date: Tue, 01 Dec 2026 12:00:00 +0000',
    'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= monthly report',
    'Message-ID: <raw-big@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    '',
  ].join('\n');
  const lines: string[] = [];
  let length = header.length;
  for (let n = 0; length < size; n += 1) {
    const line =
      n % 97 === 0
        ? `.line ${n} starts with a dot`
        : n % 89 === 0
          ? 'é'.repeat(499)
          : `line ${n}: Grüße, 5 € and ${'0123456789'.repeat(n % 9)} 👋${n % 5 === 0 ? '\r' : ''}`;
    lines.push(line);
    length += line.length + 1;
  }
  return `${header}${lines.join('\n')}\n`;
}

/** The message with every line ending in CRLF, ending with CRLF: what SMTP carries. */
export function crlf(message: string): string {
  const normalised = message.replace(/(?<!\r)\n/g, '\r\n');
  return normalised.endsWith('\r\n') ? normalised : `${normalised}\r\n`;
}

/** A raw job carrying `message` to `to`. */
export function rawJob(message: string, to: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, ...extra, raw: { envelope: { from: 'bounces@example.com', to }, message } };
}
