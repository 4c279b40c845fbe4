/**
 * Public types of the SMTP client (the contract in DESIGN.md, "The SMTP client contract").
 * @module
 */

/** One complete server reply: the code, the enhanced status code (RFC 3463) when given, and the text lines without code or enhanced code. */
export interface SmtpReply {
  code: number;
  enhancedCode?: string;
  lines: string[];
}

/** The envelope of one message: the reverse path and the forward paths (RFC 5321 MAIL FROM / RCPT TO). */
export interface Envelope {
  from: string;
  to: string[];
}

/** One recipient the server refused, with its reply. */
export interface RefusedRecipient {
  recipient: string;
  code: number;
  enhancedCode?: string;
  message: string;
  /** 4xx: the refusal may go away later. */
  transient: boolean;
}

/**
 * A message given as a stream of bytes, for content too large to hold in memory (`send` with a
 * `MessageStream` never holds more than a bounded part of it).
 *
 * `size` is the exact number of octets `chunks()` yields, the content as given (before line ends
 * are made CRLF and before dot-stuffing): it is sent as `SIZE=` and checked against the server's
 * SIZE before MAIL. `chunks()` is called once per send. A stream that yields more or fewer octets
 * than `size`, or that throws, fails its send and never gets the message accepted (see
 * {@link SmtpClient.send}). A chunk must not change after it was yielded.
 *
 * @example
 * const { size } = await stat(path);
 * await client.send(envelope, { size, chunks: () => createReadStream(path) });
 */
export interface MessageStream {
  /** Octets `chunks()` yields, in all. */
  size: number;
  /** The content, in order; called once. A Node `Readable` of Buffers is such an iterable. */
  chunks: () => AsyncIterable<Uint8Array>;
  /**
   * Whether the content holds octets over 127. `true`: sent with `BODY=8BITMIME` (refused before
   * MAIL if the server lacks 8BITMIME); `false`: sent without, and an 8-bit octet fails the send;
   * unset (unknown, a stream cannot be scanned before it is sent): `BODY=8BITMIME` when the server
   * offers it (always safe to declare), else as `false`.
   */
  eightBit?: boolean;
}

/** The outcome of a successful {@link SmtpClient.send}: at least one recipient took the message. */
export interface SendResult {
  accepted: string[];
  rejected: RefusedRecipient[];
  /** The final reply to the data (in LMTP, the last per-recipient reply). */
  reply: SmtpReply;
}

/** What the server announced in its EHLO reply, parsed into types. */
export interface Capabilities {
  /** SIZE limit in octets; `0` when the server announces SIZE without a limit; absent when SIZE is not offered. */
  size?: number;
  pipelining: boolean;
  chunking: boolean;
  eightBitMime: boolean;
  smtpUtf8: boolean;
  dsn: boolean;
  enhancedStatusCodes: boolean;
  startTls: boolean;
  /** AUTH mechanisms offered, upper-case. */
  auth: string[];
}

/** How the connection is secured. */
export type SecurityMode = 'starttls' | 'opportunistic' | 'implicit' | 'none';

/** One line of the session transcript. Credentials are never shown. */
export interface TranscriptEntry {
  dir: 'C' | 'S';
  line: string;
}

/** Options of {@link SmtpClient.connect}. */
export interface SmtpConnectOptions {
  /** `'host'`, `'host:port'`, `'[v6]:port'`, a unix socket path (starting with `/`), or a failover list tried in order. */
  host: string | string[];
  /** @default 587 for starttls/opportunistic, 465 for implicit, 25 for none (24 for LMTP over TCP) */
  port?: number;
  /** @default 'starttls' (required) */
  security?: SecurityMode;
  auth?: { user: string; pass: string; method?: 'PLAIN' | 'LOGIN' | 'XOAUTH2' };
  /** TLS settings; certificates are verified unless `rejectUnauthorized: false`. */
  tls?: { ca?: string | Uint8Array; servername?: string; rejectUnauthorized?: boolean };
  /** EHLO name. @default the machine's host name when it is a valid domain, else `[127.0.0.1]`-style literal of the local address */
  clientName?: string;
  /** @default 'smtp' */
  protocol?: 'smtp' | 'lmtp';
  timeouts?: { connectMs?: number; greetingMs?: number; commandMs?: number; dataMs?: number };
  /** Overall deadline: aborting fails everything pending and closes the connection. */
  signal?: AbortSignal;
  /** Receives every line written and read; AUTH payloads are replaced by `[redacted]`. */
  transcript?: (entry: TranscriptEntry) => void;
}

/** The stage of a session an error happened in. */
export type SmtpPhase = 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'auth' | 'mail' | 'rcpt' | 'data' | 'quit';
