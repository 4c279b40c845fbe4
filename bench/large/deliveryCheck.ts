/**
 * Did a batch arrive intact? The relay's messages are counted and each is parsed (mailparser, as a
 * stream) down to its attachments' SHA-256, which must include every large file the batch attached.
 * @module
 */
import { createHash } from 'node:crypto';
import { MailParser } from 'mailparser';
import type { AttachmentStream } from 'mailparser';

/** One attachment as delivered. */
export interface DeliveredAttachment {
  filename?: string;
  size: number;
  /** SHA-256 of the decoded content, hex. */
  sha256: string;
}

/** What a batch's delivery came to. */
export interface DeliveryCheck {
  /** Messages the relay received. */
  delivered: number;
  /** Every message arrived and every large attachment is there byte for byte. */
  intact: boolean;
  /** The largest message as the relay has it, in octets. */
  largestBytes: number;
  /** What is wrong, when something is. */
  problem?: string;
}

/**
 * The attachments of one message (any line ends), each decoded and hashed as it streams.
 * @throws the parser's error for a message it cannot read
 */
export function attachmentDigests(raw: Buffer): Promise<DeliveredAttachment[]> {
  return new Promise((resolve, reject) => {
    const found: DeliveredAttachment[] = [];
    const parser = new MailParser();
    parser.on('data', (part: { type: string; content?: AttachmentStream['content']; filename?: string; release?: () => void }) => {
      if (part.type !== 'attachment' || part.content === undefined) return;
      const hash = createHash('sha256');
      let size = 0;
      part.content.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      part.content.on('end', () => {
        found.push({ ...(part.filename === undefined ? {} : { filename: part.filename }), size, sha256: hash.digest('hex') });
        part.release?.();
      });
    });
    parser.on('end', () => resolve(found));
    parser.on('error', reject);
    parser.end(raw);
  });
}

/**
 * Checks the messages a relay received for a batch of `expected` jobs whose large attachments had
 * these digests (each must be found in some message, byte for byte).
 */
export async function checkDelivery(messages: readonly Buffer[], expected: number, largeDigests: readonly string[]): Promise<DeliveryCheck> {
  const largestBytes = Math.max(0, ...messages.map((raw) => raw.length));
  const digests = new Set<string>();
  for (const raw of messages) for (const attachment of await attachmentDigests(raw)) digests.add(attachment.sha256);
  const missing = largeDigests.filter((digest) => !digests.has(digest)).length;
  const problems = [
    ...(messages.length === expected ? [] : [`${messages.length} of ${expected} messages delivered`]),
    ...(missing === 0 ? [] : [`${missing} of ${largeDigests.length} large attachments missing or altered`]),
  ];
  return {
    delivered: messages.length,
    intact: problems.length === 0,
    largestBytes,
    ...(problems.length === 0 ? {} : { problem: problems.join('; ') }),
  };
}
