/**
 * Where the local SMTP server puts what it accepts: one `.eml` file per message, exactly as
 * received (open it with any mail program), and `index.ndjson`, one line per message with its
 * envelope, subject and the recipients refused in the same transaction. The folder outlives the
 * run: a second start lists what the first received (`--clean` empties it).
 * @module
 */
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';

/** The index's file name inside the mail folder. */
export const MAILBOX_INDEX = 'index.ndjson';

/** A recipient the server refused during the transaction that delivered the message. */
export interface RefusedRecipient {
  address: string;
  code: number;
}

/** One message in the mailbox. */
export interface MailboxEntry {
  /** The `.eml` file's name inside the mail folder. */
  file: string;
  receivedAt: string;
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients that took it (RCPT TO accepted). */
  to: string[];
  /** Envelope recipients refused in the same transaction. */
  refused: RefusedRecipient[];
  subject: string;
  messageId?: string;
  size: number;
  /** `delivered` when every recipient took it, else `partly refused`. */
  outcome: 'delivered' | 'partly refused';
}

/** What the SMTP server hands the mailbox for one accepted message. */
export interface IncomingMessage {
  from: string;
  to: string[];
  refused: RefusedRecipient[];
  raw: Buffer;
}

const EML_NAME = /^[0-9TZ-]+-[0-9]+-[0-9a-f]+\.eml$/;

/**
 * The local mailbox folder.
 * @example
 * const mailbox = await Mailbox.open('.local/mail');
 * await mailbox.store({ from, to, refused: [], raw });
 * mailbox.entries(); // newest last
 */
export class Mailbox {
  readonly dir: string;
  readonly #entries: MailboxEntry[];
  #sequence = 0;

  private constructor(dir: string, entries: MailboxEntry[]) {
    this.dir = dir;
    this.#entries = entries;
  }

  /** Opens the mailbox in `dir` (which must exist), reading the index a previous run left. */
  static async open(dir: string): Promise<Mailbox> {
    let text = '';
    try {
      text = await readFile(path.join(dir, MAILBOX_INDEX), 'utf8');
    } catch {
      // no index yet
    }
    const entries: MailboxEntry[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as MailboxEntry;
        if (typeof entry.file === 'string' && EML_NAME.test(entry.file)) entries.push(entry);
      } catch {
        // a torn last line from a killed run: skipped
      }
    }
    return new Mailbox(dir, entries);
  }

  /** Removes every `.eml` file and the index. */
  async clear(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name === MAILBOX_INDEX || EML_NAME.test(name)) await rm(path.join(this.dir, name), { force: true });
    }
    this.#entries.length = 0;
  }

  /** Writes the message to its `.eml` file and adds it to the index. */
  async store(message: IncomingMessage): Promise<MailboxEntry> {
    const now = new Date();
    this.#sequence += 1;
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    const file = `${stamp}-${this.#sequence}-${Math.floor(Math.random() * 0x10000).toString(16)}.eml`;
    await writeFile(path.join(this.dir, file), message.raw);
    const headers = await simpleParser(message.raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    const entry: MailboxEntry = {
      file,
      receivedAt: now.toISOString(),
      from: message.from,
      to: [...message.to],
      refused: message.refused.map((r) => ({ ...r })),
      subject: headers.subject ?? '',
      ...(headers.messageId === undefined ? {} : { messageId: headers.messageId }),
      size: message.raw.byteLength,
      outcome: message.refused.length === 0 ? 'delivered' : 'partly refused',
    };
    await appendFile(path.join(this.dir, MAILBOX_INDEX), `${JSON.stringify(entry)}\n`);
    this.#entries.push(entry);
    return entry;
  }

  /** Every message, oldest first. */
  entries(): readonly MailboxEntry[] {
    return this.#entries;
  }

  /** The raw source of a message of the index, or `undefined` for any other name. */
  async raw(file: string): Promise<Buffer | undefined> {
    if (!EML_NAME.test(file) || !this.#entries.some((entry) => entry.file === file)) return undefined;
    try {
      return await readFile(path.join(this.dir, file));
    } catch {
      return undefined;
    }
  }
}
