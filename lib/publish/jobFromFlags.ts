import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { detectMimeType } from 'nodemailer/lib/mime-funcs';
import { parseDelay } from './cli/delay.js';
import type { AttachmentInput, ComposedMailJobInput } from '../message/types.js';

/** The `mail-queue send` flags that describe a job. */
export interface JobFlags {
  id?: string;
  /** `--delay`: `90`, `90s`, `5m` (at most 15m), the job's `delaySeconds`. */
  delay?: string;
  from?: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject?: string;
  text?: string;
  textFile?: string;
  html?: string;
  htmlFile?: string;
  header: string[];
  attach: string[];
  inline: string[];
}

/** A problem with the flags themselves (not with the job they describe). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Builds a job from command-line flags, reading the files they name. The job is checked later,
 * like any other job; only what cannot become a job at all (a header without a colon, an
 * `--inline` without `cid=`) is a usage error here.
 * @throws {UsageError} for malformed flags; file system errors as they come.
 * @example
 * await jobFromFlags({ to: ['ann@example.com'], subject: 'Hi', text: 'Hello', cc: [], bcc: [], replyTo: [], header: [], attach: [], inline: [] });
 */
export async function jobFromFlags(flags: JobFlags): Promise<ComposedMailJobInput> {
  if (flags.text !== undefined && flags.textFile !== undefined) throw new UsageError('give --text or --text-file, not both');
  if (flags.html !== undefined && flags.htmlFile !== undefined) throw new UsageError('give --html or --html-file, not both');
  const text = flags.textFile === undefined ? flags.text : await readFile(flags.textFile, 'utf8');
  const html = flags.htmlFile === undefined ? flags.html : await readFile(flags.htmlFile, 'utf8');
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of flags.header) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header ${JSON.stringify(line)} must look like "Name: value"`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const attachments: AttachmentInput[] = [];
  for (const path of flags.attach) attachments.push(await attachment(path));
  for (const spec of flags.inline) {
    const equals = spec.indexOf('=');
    if (equals <= 0) throw new UsageError(`--inline ${JSON.stringify(spec)} must look like "logo@example.com=./logo.png"`);
    attachments.push({ ...(await attachment(spec.slice(equals + 1))), contentId: spec.slice(0, equals) });
  }
  const [onlyTo, ...moreTo] = flags.to;
  return {
    v: 1,
    ...(flags.id === undefined ? {} : { id: flags.id }),
    ...(flags.delay === undefined ? {} : { delaySeconds: parseDelay(flags.delay) }),
    ...(flags.from === undefined ? {} : { from: flags.from }),
    to: onlyTo !== undefined && moreTo.length === 0 ? onlyTo : flags.to,
    ...(flags.cc.length > 0 ? { cc: flags.cc } : {}),
    ...(flags.bcc.length > 0 ? { bcc: flags.bcc } : {}),
    ...(flags.replyTo.length > 0 ? { replyTo: flags.replyTo } : {}),
    subject: flags.subject as string,
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
    ...(Object.keys(headers).length > 0 ? { headers: { ...headers } } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
  };
}

async function attachment(path: string): Promise<AttachmentInput> {
  const content = await readFile(path);
  return { filename: basename(path), contentType: detectMimeType(path), content: content.toString('base64') };
}
