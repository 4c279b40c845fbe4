import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { detectMimeType } from 'nodemailer/lib/mime-funcs';
import { parseDelay } from './cli/delay.js';
import { JobWithFiles, type FileAttachment } from './JobWithFiles.js';

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
 * Builds a job from command-line flags, reading the text and HTML files they name; attached files
 * are read only when the job is sent (streamed into S3 when the job is large). The job is checked later,
 * like any other job; only what cannot become a job at all (a header without a colon, an
 * `--inline` without `cid=`) is a usage error here.
 * @throws {UsageError} for malformed flags; file system errors as they come.
 * @example
 * await jobFromFlags({ to: ['ann@example.com'], subject: 'Hi', text: 'Hello', cc: [], bcc: [], replyTo: [], header: [], attach: [], inline: [] });
 */
export async function jobFromFlags(flags: JobFlags): Promise<JobWithFiles> {
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
  const files: FileAttachment[] = flags.attach.map(attachment);
  for (const spec of flags.inline) {
    const equals = spec.indexOf('=');
    if (equals <= 0) throw new UsageError(`--inline ${JSON.stringify(spec)} must look like "logo@example.com=./logo.png"`);
    files.push({ ...attachment(spec.slice(equals + 1)), contentId: spec.slice(0, equals) });
  }
  const [onlyTo, ...moreTo] = flags.to;
  const job = {
    v: 1 as const,
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
  };
  return JobWithFiles.of(job, files);
}

function attachment(path: string): FileAttachment {
  return { path, filename: basename(path), contentType: detectMimeType(path) };
}
