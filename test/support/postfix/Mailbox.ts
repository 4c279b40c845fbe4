import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** One message as it landed in a Maildir, with the headers the server added. */
export interface DeliveredMessage {
  /** The envelope recipient (from `Delivered-To`, or from the Maildir's place for Dovecot LMTP). */
  readonly recipient: string;
  /** The stored message, byte for byte (LF line ends, as Maildir keeps them). */
  readonly raw: Buffer;
}

/**
 * Every Maildir below one directory, read as a single mailbox.
 *
 * Why: delivery through Postfix's queue (or Dovecot's LMTP) is asynchronous and spreads over one
 * Maildir per recipient; tests want "what landed, for whom", and to wait until it has.
 */
export class Mailbox {
  readonly #root: string;
  readonly #describe: () => string;
  readonly #recipientOf: RecipientOf;

  /**
   * @param root - the directory holding the Maildirs (searched recursively for `new/` and `cur/`).
   * @param describe - what to add to a timeout error (the server's log tail).
   * @param recipientOf - how to tell a message's recipient: {@link deliveredToHeader} by default.
   */
  constructor(root: string, describe: () => string, recipientOf: RecipientOf = deliveredToHeader) {
    this.#root = root;
    this.#describe = describe;
    this.#recipientOf = recipientOf;
  }

  /**
   * Reads every delivered message, oldest first.
   *
   * @throws Error when a message's recipient cannot be told (see {@link RecipientOf}).
   */
  async read(): Promise<DeliveredMessage[]> {
    const files = await listMessageFiles(this.#root);
    const withTimes = await Promise.all(files.map(async (file) => ({ file, mtime: (await stat(file)).mtimeMs, raw: await readFile(file) })));
    withTimes.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file));
    return withTimes.map(({ file, raw }) => ({ recipient: this.#recipientOf(relative(this.#root, file), raw), raw }));
  }

  /**
   * Polls until at least `count` messages have landed and returns them.
   *
   * @throws Error naming how many landed, with the server's log tail, when `timeoutMs` passes first.
   */
  async waitFor(count: number, timeoutMs = 10_000): Promise<DeliveredMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = await this.read();
      if (messages.length >= count) return messages;
      if (Date.now() >= deadline) {
        throw new Error(
          `expected ${count} delivered message(s) in ${this.#root}, found ${messages.length} after ${timeoutMs} ms\n` +
            `--- server log tail ---\n${this.#describe()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Deletes every delivered message (the Maildirs themselves stay). */
  async clear(): Promise<void> {
    const files = await listMessageFiles(this.#root);
    await Promise.all(files.map((file) => rm(file, { force: true })));
  }
}

async function listMessageFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (entry.name === 'new' || entry.name === 'cur') {
      const messages = await readdir(path, { withFileTypes: true });
      found.push(...messages.filter((message) => message.isFile()).map((message) => join(path, message.name)));
    } else if (entry.name !== 'tmp') {
      found.push(...(await listMessageFiles(path)));
    }
  }
  return found;
}

/**
 * Tells the recipient of a stored message from its path below the mailbox root and its bytes.
 * @throws Error when it cannot.
 */
export type RecipientOf = (path: string, raw: Buffer) => string;

/**
 * The recipient from the `Delivered-To` header Postfix's virtual(8) agent puts on top of every
 * message (one per recipient, also for UTF-8 addresses that share a Maildir).
 *
 * @throws Error when the message has no `Delivered-To` header.
 */
export function deliveredToHeader(path: string, raw: Buffer): string {
  const headerEnd = raw.indexOf('\n\n');
  const header = raw.subarray(0, headerEnd === -1 ? raw.length : headerEnd).toString('utf8');
  const match = /^Delivered-To:[ \t]*(.+?)\r?$/im.exec(header);
  if (match?.[1] === undefined) throw new Error(`no Delivered-To header in ${path}`);
  return match[1].trim();
}

/**
 * The recipient from the Maildir's place, `<domain>/<user>/Maildir/...`: Dovecot's LMTP adds no
 * `Delivered-To` header, and its homes are laid out that way (see `renderDovecotConf`).
 *
 * @throws Error when the path is not laid out that way.
 */
export function homePathRecipient(path: string): string {
  const [domain, user, maildir] = path.split(sep);
  if (domain === undefined || user === undefined || maildir !== 'Maildir') {
    throw new Error(`not a <domain>/<user>/Maildir path: ${path}`);
  }
  return `${user}@${domain}`;
}
