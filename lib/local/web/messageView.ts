/**
 * A stored message as the page shows it, parsed from its `.eml` file with `mailparser`: the
 * header lines, the text part, whether there is an HTML part, and the attachments (name, type,
 * size). The HTML part is served on its own, as a document that can run nothing and load nothing
 * from elsewhere ({@link HTML_PART_POLICY}), shown in an iframe sandboxed without `allow-scripts`.
 * @module
 */
import { simpleParser } from 'mailparser';
import type { Attachment, ParsedMail } from 'mailparser';

/**
 * The Content-Security-Policy of a message's HTML part: no script, no frame, no remote load of
 * any kind; pictures only from `data:` URIs (mailparser turns the message's own `cid:` pictures
 * into those); inline styles. `sandbox` makes the document sandboxed even when opened on its own,
 * outside the page's iframe; only the page itself may frame it.
 */
export const HTML_PART_POLICY = "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox";

/** One attachment, without its content. */
export interface AttachmentView {
  /** Its position among the message's attachments (the download's address). */
  index: number;
  filename: string;
  contentType: string;
  size: number;
  /** `inline` for a picture the HTML part shows, else `attachment`. */
  disposition: string;
}

/** What the message view shows. */
export interface MessageView {
  /** The header lines as they are in the message (folded lines joined). */
  headers: { name: string; value: string }[];
  subject: string;
  from: string;
  to: string;
  date?: string;
  text: string;
  hasHtml: boolean;
  attachments: AttachmentView[];
}

async function parse(raw: Buffer): Promise<ParsedMail> {
  return simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true });
}

/**
 * Parses a message for its view.
 * @example
 * const view = await messageView(await mailbox.raw(file));
 * view.attachments; // [{ index: 0, filename: 'report.pdf', contentType: 'application/pdf', size: 51234, disposition: 'attachment' }]
 */
export async function messageView(raw: Buffer): Promise<MessageView> {
  const mail = await parse(raw);
  const view: MessageView = {
    headers: mail.headerLines.map(({ line }) => {
      const colon = line.indexOf(':');
      return {
        name: line.slice(0, colon),
        value: line
          .slice(colon + 1)
          .replace(/\r?\n[ \t]+/g, ' ')
          .trim(),
      };
    }),
    subject: mail.subject ?? '',
    from: mail.from?.text ?? '',
    to: (Array.isArray(mail.to) ? mail.to : mail.to === undefined ? [] : [mail.to]).map((a) => a.text).join(', '),
    text: mail.text ?? '',
    hasHtml: mail.html !== false,
    attachments: mail.attachments.map(attachmentView),
  };
  if (mail.date !== undefined) view.date = mail.date.toISOString();
  return view;
}

/** The HTML part of a message, or `undefined` when it has none. */
export async function htmlPart(raw: Buffer): Promise<string | undefined> {
  const mail = await parse(raw);
  if (mail.html === false) return undefined;
  // The policy is also sent as a header; the meta element keeps it when the document is saved.
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${HTML_PART_POLICY.replace(/; frame-ancestors.*$/, '')}">\n${mail.html}`;
}

/** One attachment with its content, or `undefined` when there is no such one. */
export async function attachment(raw: Buffer, index: number): Promise<{ view: AttachmentView; content: Buffer } | undefined> {
  const mail = await parse(raw);
  const found = mail.attachments[index];
  if (found === undefined) return undefined;
  return { view: attachmentView(found, index), content: found.content };
}

function attachmentView(found: Attachment, index: number): AttachmentView {
  return {
    index,
    filename: found.filename ?? `attachment-${index + 1}`,
    contentType: found.contentType,
    size: found.size,
    disposition: found.contentDisposition ?? 'attachment',
  };
}
