/**
 * One connection of the scripted SMTP server: a small ESMTP state machine that records what it
 * received and lets the test replace any reply (see `startScriptedServer`).
 * @module
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { ScriptedServerOptions } from './scriptedServer.js';

/** The extensions announced when none are given. */
export const DEFAULT_EXTENSIONS: readonly string[] = [
  'PIPELINING',
  'SIZE 10240000',
  '8BITMIME',
  'SMTPUTF8',
  'CHUNKING',
  'ENHANCEDSTATUSCODES',
  'STARTTLS',
  'AUTH PLAIN LOGIN',
];

/**
 * A reply the script gives:
 * - `string[]`: reply lines without CRLF, written verbatim, each followed by CRLF, all in one write
 *   (`['250-first', '250 last']` is a multiline reply; `['250 a', '550 b']` two replies, as in LMTP);
 * - `{ raw }`: bytes written verbatim (garbage, an overlong line, a reply plus injected bytes);
 * - `'drop'`: pending replies are written, then the socket is destroyed;
 * - `'silent'`: pending replies are written, then nothing is ever answered again;
 * - `'close'`: pending replies are written, then the socket is ended.
 *
 * A reply whose code (its first three characters) is 421 also closes the connection after it is
 * written. The code also decides the effect: MAIL/RCPT with 2xx open the transaction / add the
 * recipient, DATA with 354 starts the data, STARTTLS with 220 upgrades to TLS.
 */
export type ScriptedReply = string[] | { raw: string | Uint8Array } | 'drop' | 'silent' | 'close';

/** One command line as received. */
export interface ReceivedCommand {
  /** The line without its line end. */
  line: string;
  /** The first word, upper case (`'MAIL'`, `'EHLO'`, ...). */
  verb: string;
  /** The rest of the line after the verb and one space. */
  args: string;
  /** TLS was active when the line arrived. */
  tls: boolean;
  /** Index in `chunks` of the chunk that completed the line. */
  chunk: number;
  /** The line ended with CRLF (false: a bare LF). */
  crlf: boolean;
  /** The line's bytes had arrived together with an end-of-data dot (pipelined after the dot). */
  afterDot: boolean;
}

/** One complete message. */
export interface ScriptedMessage {
  envelope: { from: string; to: string[]; mailParams: string[] };
  /** The message after dot-unstuffing (DATA) or the joined chunks (BDAT). */
  content: Buffer;
  /** The bytes on the wire: DATA content still dot-stuffed, without the final `.CRLF`; for BDAT the same as `content`. */
  wire: Buffer;
  via: 'DATA' | 'BDAT';
  /** For BDAT: the size of each chunk. */
  chunkSizes: number[];
  tls: boolean;
}

/** One AUTH exchange, with what the client sent decoded. */
export interface AuthRecord {
  method: string;
  user: string;
  pass: string;
  ok: boolean;
}

type Mode =
  | { kind: 'command' }
  | { kind: 'auth'; method: string; user?: string }
  | { kind: 'data'; searchFrom: number }
  | { kind: 'bdat'; command: ReceivedCommand; remaining: number; last: boolean }
  | { kind: 'silent' }
  | { kind: 'closed' };

const END_OF_DATA = Buffer.from('\r\n.\r\n');

/**
 * One accepted connection: what arrived on it, and its SMTP state.
 *
 * Recording: `chunks` holds each `data` event as received (after TLS, the decrypted stream).
 * Loopback with TCP_NODELAY on the client usually delivers one client write as one chunk, so
 * `chunks.length` counts the client's writes; a write larger than the socket buffer (~64 KiB)
 * can arrive split, and two quick writes may coalesce if the server was busy.
 *
 * Replies to commands that arrived together are collected and written in one write once the
 * input is used up, as Postfix does.
 */
export class ScriptedConnection {
  /** Each read chunk, exactly as received (decrypted once TLS is up). */
  readonly chunks: Buffer[] = [];
  /** Index in `chunks` of the first chunk received over TLS. */
  tlsFromChunk?: number;
  /** Every line received outside message content (commands and AUTH continuation lines), without line end. */
  readonly lines: string[] = [];
  /** Every command line, parsed, in order. */
  readonly commands: ReceivedCommand[] = [];
  /** Every complete message received, whatever the reply to it. */
  readonly messages: ScriptedMessage[] = [];
  readonly authAttempts: AuthRecord[] = [];
  /** The open mail transaction. */
  transaction?: { from: string; mailParams: string[]; to: string[]; bdat: Buffer[] };
  /** TLS is active. */
  tls = false;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;

  private socket: net.Socket;
  private readonly plain: net.Socket;
  private buffer = Buffer.alloc(0);
  /** Bytes taken out of `buffer` so far, and the running end offset of each chunk: to map a line to its chunk. */
  private consumed = 0;
  private readonly chunkEnds: number[] = [];
  private mode: Mode = { kind: 'command' };
  private pending: Buffer[] = [];
  /** True while a step runs, and until the greeting is out. */
  private pumping = true;
  private afterDotBytes = 0;
  private markClosed: () => void = () => undefined;

  constructor(
    socket: net.Socket,
    private readonly options: ScriptedServerOptions,
    private readonly certificates: { key: string; cert: string },
    /** 0 for the first connection the server accepted. */
    readonly index: number,
  ) {
    this.socket = socket;
    this.plain = socket;
    socket.setNoDelay(true);
    socket.on('data', this.onChunk);
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    socket.once('close', this.markClosed);
    void this.greet();
  }

  /** All bytes received so far, in one buffer (decrypted after STARTTLS). */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Writes bytes at once, outside any reply (e.g. an unsolicited line). */
  write(bytes: string | Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Destroys the socket. */
  destroy(): void {
    this.mode = { kind: 'closed' };
    this.socket.destroy();
    this.plain.destroy();
  }

  private readonly onChunk = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.chunkEnds.push((this.chunkEnds.at(-1) ?? 0) + chunk.length);
    this.buffer = Buffer.concat([this.buffer, chunk]);
    void this.pump();
  };

  /** Takes `length` bytes off the front of the input. */
  private take(length: number): Buffer {
    const taken = Buffer.from(this.buffer.subarray(0, length));
    this.buffer = this.buffer.subarray(length);
    this.consumed += length;
    return taken;
  }

  /** The index in `chunks` of the chunk holding input byte `offset` (counted from the first byte received). */
  private chunkAt(offset: number): number {
    return this.chunkEnds.findIndex((end) => end > offset);
  }

  private async greet(): Promise<void> {
    const { greeting, lmtp } = this.options;
    const reply = typeof greeting === 'function' ? await greeting(this) : greeting;
    this.reply(reply ?? [`220 scripted.test ${lmtp ? 'LMTP' : 'ESMTP'} ready`], '');
    this.pumping = false;
    await this.pump();
  }

  /** Consumes complete input units one after another; replies go out when the input is used up. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (await this.step());
    } finally {
      this.pumping = false;
    }
    this.flush();
  }

  private async step(): Promise<boolean> {
    switch (this.mode.kind) {
      case 'silent':
      case 'closed':
        this.take(this.buffer.length);
        return false;
      case 'data':
        return this.stepData(this.mode);
      case 'bdat':
        return this.stepBdat(this.mode);
      case 'command':
      case 'auth':
        return this.stepLine();
    }
  }

  private async stepLine(): Promise<boolean> {
    const end = this.buffer.indexOf(0x0a);
    if (end < 0) return false;
    const crlf = end > 0 && this.buffer[end - 1] === 0x0d;
    const chunk = this.chunkAt(this.consumed + end);
    const line = this.take(end + 1)
      .subarray(0, crlf ? end - 1 : end)
      .toString('utf8');
    const afterDot = this.afterDotBytes > 0;
    this.afterDotBytes = Math.max(0, this.afterDotBytes - (end + 1));
    this.lines.push(line);
    if (this.mode.kind === 'auth') {
      this.authContinue(this.mode, line);
      return true;
    }
    const space = line.indexOf(' ');
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? '' : line.slice(space + 1);
    const command: ReceivedCommand = { line, verb, args, tls: this.tls, chunk, crlf, afterDot };
    this.commands.push(command);
    if (afterDot && this.options.rejectPipeliningAfterDot) {
      this.reply(['503 5.5.0 pipelining after data not allowed'], verb);
      return true;
    }
    const bdat = verb === 'BDAT' ? /^(\d+)( LAST)?$/i.exec(args.trim()) : null;
    if (bdat) {
      this.mode = { kind: 'bdat', command, remaining: Number(bdat[1]), last: bdat[2] !== undefined };
      return true;
    }
    const scripted = await this.options.onCommand?.(command, this);
    if (scripted) this.reply(scripted, verb, command);
    else this.defaultCommand(command);
    return true;
  }

  private async stepData(mode: { kind: 'data'; searchFrom: number }): Promise<boolean> {
    let wireEnd: number;
    let consumed: number;
    if (this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
      [wireEnd, consumed] = [0, 3];
    } else {
      const found = this.buffer.indexOf(END_OF_DATA, mode.searchFrom);
      if (found < 0) {
        mode.searchFrom = Math.max(0, this.buffer.length - END_OF_DATA.length);
        return false;
      }
      [wireEnd, consumed] = [found + 2, found + END_OF_DATA.length];
    }
    const wire = this.take(consumed).subarray(0, wireEnd);
    this.afterDotBytes = this.buffer.length;
    this.mode = { kind: 'command' };
    const content = Buffer.from(wire.toString('latin1').replace(/(^|\r\n)\./g, '$1'), 'latin1');
    await this.finishMessage({ content, wire, via: 'DATA', chunkSizes: [] }, null);
    return true;
  }

  private async stepBdat(mode: Extract<Mode, { kind: 'bdat' }>): Promise<boolean> {
    const part = this.take(Math.min(mode.remaining, this.buffer.length));
    mode.remaining -= part.length;
    this.transaction?.bdat.push(part);
    if (mode.remaining > 0) return false;
    this.mode = { kind: 'command' };
    const { command, last } = mode;
    const scripted = await this.options.onCommand?.(command, this);
    if (scripted) {
      if (last) this.transaction = undefined;
      this.reply(scripted, 'BDAT', command);
    } else if (!this.transaction || this.transaction.to.length === 0) {
      this.reply([this.line(503, '5.5.1', 'No valid recipients')], 'BDAT');
    } else if (!last) {
      this.reply([this.line(250, '2.0.0', `${part.length} octets received`)], 'BDAT');
    } else {
      const chunkSizes = this.transaction.bdat.map((chunk) => chunk.length);
      const content = Buffer.concat(this.transaction.bdat);
      await this.finishMessage({ content, wire: content, via: 'BDAT', chunkSizes }, command);
    }
    return true;
  }

  /** Records a complete message, ends the transaction and gives the reply after the data. */
  private async finishMessage(
    parts: Pick<ScriptedMessage, 'content' | 'wire' | 'via' | 'chunkSizes'>,
    command: ReceivedCommand | null,
  ): Promise<void> {
    const transaction = this.transaction ?? { from: '', mailParams: [], to: [], bdat: [] };
    this.transaction = undefined;
    const message: ScriptedMessage = {
      envelope: { from: transaction.from, to: [...transaction.to], mailParams: transaction.mailParams },
      ...parts,
      tls: this.tls,
    };
    this.messages.push(message);
    const scripted = await this.options.onData?.(message, this);
    const queued = this.line(250, '2.0.0', `Ok: queued as M${this.messages.length}`);
    const reply = scripted ?? (this.options.lmtp ? message.envelope.to.map(() => queued) : [queued]);
    this.reply(reply, command ? 'BDAT' : 'DATA');
  }

  /** What a plain server does with a command: AUTH starts an exchange, any other gets its reply. */
  private defaultCommand(command: ReceivedCommand): void {
    if (command.verb === 'AUTH') this.authStart(command.args);
    else this.reply(this.defaultReply(command), command.verb, command);
  }

  private defaultReply({ verb, args }: ReceivedCommand): string[] {
    const hello = this.options.lmtp ? 'LHLO' : 'EHLO';
    switch (verb) {
      case hello:
        return this.options.helloOnly ? ['500 Command unrecognized'] : this.ehloReply(args);
      case 'HELO':
        return ['250 scripted.test'];
      case 'MAIL': {
        const parsed = /^FROM:\s*<([^>]*)>\s*(.*)$/i.exec(args);
        if (!parsed) return [this.line(501, '5.5.4', 'Syntax: MAIL FROM:<address>')];
        if (this.transaction) return [this.line(503, '5.5.1', 'Nested MAIL command')];
        const size = /(?:^|\s)SIZE=(\d+)/i.exec(parsed[2] ?? '');
        if (size && Number(size[1]) > this.sizeLimit()) return [this.line(552, '5.3.4', 'Message size exceeds fixed limit')];
        return [this.line(250, '2.1.0', 'Sender OK')];
      }
      case 'RCPT':
        if (!/^TO:\s*<[^>]*>/i.test(args)) return [this.line(501, '5.5.4', 'Syntax: RCPT TO:<address>')];
        if (!this.transaction) return [this.line(503, '5.5.1', 'Need MAIL command')];
        return [this.line(250, '2.1.5', 'Recipient OK')];
      case 'DATA':
        if (!this.transaction || this.transaction.to.length === 0) return [this.line(503, '5.5.1', 'No valid recipients')];
        return ['354 End data with <CR><LF>.<CR><LF>'];
      case 'BDAT':
        return [this.line(501, '5.5.4', 'Syntax: BDAT size [LAST]')];
      case 'RSET':
      case 'NOOP':
        return [this.line(250, '2.0.0', 'Ok')];
      case 'VRFY':
        return [this.line(252, '2.0.0', 'Cannot VRFY user, but will accept message')];
      case 'QUIT':
        return [this.line(221, '2.0.0', 'Bye')];
      case 'STARTTLS':
        return this.tls ? [this.line(503, '5.5.1', 'TLS already active')] : [this.line(220, '2.0.0', 'Ready to start TLS')];
      default:
        return [this.line(502, '5.5.2', 'Command not recognized')];
    }
  }

  private ehloReply(name: string): string[] {
    const extensions = this.tls
      ? (this.options.extensionsAfterTls ?? this.extensions().filter((keyword) => keyword.toUpperCase() !== 'STARTTLS'))
      : this.extensions();
    const lines = [`scripted.test greets ${name}`, ...extensions];
    return lines.map((text, i) => `250${i === lines.length - 1 ? ' ' : '-'}${text}`);
  }

  private extensions(): readonly string[] {
    return this.options.extensions ?? DEFAULT_EXTENSIONS;
  }

  private sizeLimit(): number {
    const size = this.extensions().find((keyword) => /^SIZE\b/i.test(keyword));
    const limit = Number(size?.split(/\s+/)[1] ?? 0);
    return limit > 0 ? limit : Infinity;
  }

  /** A reply line, with the enhanced status code when ENHANCEDSTATUSCODES is announced. */
  private line(code: number, enhanced: string, text: string): string {
    const announced = this.extensions().some((keyword) => keyword.toUpperCase() === 'ENHANCEDSTATUSCODES');
    return announced ? `${code} ${enhanced} ${text}` : `${code} ${text}`;
  }

  private authStart(args: string): void {
    const [method = '', initial] = args.split(' ');
    const upper = method.toUpperCase();
    if ((upper === 'PLAIN' || upper === 'XOAUTH2') && initial !== undefined) {
      this.authFinish(upper, initial);
    } else if (upper === 'PLAIN' || upper === 'XOAUTH2') {
      this.mode = { kind: 'auth', method: upper };
      this.reply(['334 '], 'AUTH');
    } else if (upper === 'LOGIN') {
      this.mode = initial === undefined ? { kind: 'auth', method: upper } : { kind: 'auth', method: upper, user: decode(initial) };
      this.reply([initial === undefined ? '334 VXNlcm5hbWU6' : '334 UGFzc3dvcmQ6'], 'AUTH');
    } else {
      this.reply([this.line(504, '5.5.4', 'Unrecognized authentication type')], 'AUTH');
    }
  }

  private authContinue(mode: Extract<Mode, { kind: 'auth' }>, line: string): void {
    this.mode = { kind: 'command' };
    if (line === '*') {
      this.reply([this.line(501, '5.7.0', 'Authentication cancelled')], 'AUTH');
    } else if (mode.method !== 'LOGIN') {
      this.authFinish(mode.method, line);
    } else if (mode.user === undefined) {
      this.mode = { kind: 'auth', method: 'LOGIN', user: decode(line) };
      this.reply(['334 UGFzc3dvcmQ6'], 'AUTH');
    } else {
      this.recordAuth('LOGIN', mode.user, decode(line));
    }
  }

  private authFinish(method: string, response: string): void {
    const decoded = decode(response);
    if (method === 'PLAIN') {
      const [, user = '', pass = ''] = decoded.split('\0');
      this.recordAuth(method, user, pass);
    } else {
      const user = /^user=([^\x01]*)/.exec(decoded)?.[1] ?? '';
      const token = /auth=Bearer ([^\x01]*)/.exec(decoded)?.[1] ?? '';
      this.recordAuth(method, user, token);
    }
  }

  private recordAuth(method: string, user: string, pass: string): void {
    const expected = this.options.credentials;
    const ok = !expected || (expected.user === user && expected.pass === pass);
    this.authAttempts.push({ method, user, pass, ok });
    this.reply([ok ? this.line(235, '2.7.0', 'Authentication successful') : this.line(535, '5.7.8', 'Authentication credentials invalid')], 'AUTH');
  }

  /** Queues a reply and applies its effect on the session (by verb and reply code). */
  private reply(reply: ScriptedReply, verb: string, command?: ReceivedCommand): void {
    if (typeof reply === 'string') {
      this.finish(reply);
      return;
    }
    const bytes = Array.isArray(reply) ? Buffer.from(reply.map((text) => `${text}\r\n`).join(''), 'utf8') : Buffer.from(reply.raw);
    this.pending.push(bytes);
    const code = Number(bytes.subarray(0, 3).toString('latin1'));
    if (code === 421 || verb === 'QUIT') {
      this.finish('close');
      return;
    }
    if (code >= 200 && code < 300) {
      if (verb === 'MAIL' && command) {
        const parsed = /^FROM:\s*<([^>]*)>\s*(.*)$/i.exec(command.args);
        const params = (parsed?.[2] ?? '').split(/\s+/).filter(Boolean);
        this.transaction = { from: parsed?.[1] ?? '', mailParams: params, to: [], bdat: [] };
      }
      if (verb === 'RCPT' && command && this.transaction) this.transaction.to.push(/^TO:\s*<([^>]*)>/i.exec(command.args)?.[1] ?? '');
      if (verb === 'RSET' || verb === 'EHLO' || verb === 'HELO' || verb === 'LHLO') this.transaction = undefined;
      if (verb === 'STARTTLS' && code === 220) this.startTls();
    }
    if (verb === 'DATA' && code === 354) this.mode = { kind: 'data', searchFrom: 0 };
  }

  /** Writes the replies collected so far in one write. */
  private flush(): void {
    if (this.pending.length === 0 || this.socket.destroyed) return;
    this.socket.write(Buffer.concat(this.pending));
    this.pending = [];
  }

  private finish(how: 'drop' | 'silent' | 'close'): void {
    if (how === 'drop' && this.pending.length > 0 && !this.socket.destroyed) {
      // Destroy only once the replies before the drop are handed to the kernel.
      this.socket.write(Buffer.concat(this.pending), () => this.destroy());
      this.pending = [];
      this.mode = { kind: 'closed' };
      return;
    }
    this.flush();
    if (how === 'silent') {
      this.mode = { kind: 'silent' };
      return;
    }
    this.mode = { kind: 'closed' };
    if (how === 'close') this.socket.end();
    else this.destroy();
  }

  /** Writes the 220 (and anything scripted with it) in clear, then turns the socket into a TLS server socket. */
  private startTls(): void {
    this.flush();
    const plain = this.socket;
    plain.off('data', this.onChunk);
    // Whatever the client sent after STARTTLS before the handshake is discarded (RFC 3207 §4.2).
    this.take(this.buffer.length);
    const secure = new tls.TLSSocket(plain, { isServer: true, key: this.certificates.key, cert: this.certificates.cert });
    secure.on('data', this.onChunk);
    secure.on('error', () => plain.destroy());
    secure.once('close', this.markClosed);
    this.socket = secure;
    this.tls = true;
    this.tlsFromChunk = this.chunks.length;
  }
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
