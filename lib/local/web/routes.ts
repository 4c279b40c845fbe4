/**
 * What the page's server answers, path by path (the guard has already let the request in):
 *
 * | request | answer |
 * |---|---|
 * | `GET /` | the page, with the run's token |
 * | `GET /assets/<file>` | its style and script modules (`app.css`, `app.js`...) |
 * | `GET /api/overview` | the counts and the tabs' counts |
 * | `GET /api/list/mailbox`, `/api/list/jobs`, `/api/list/dead-letters` | one page of a tab (`q`, `outcome`, `page`, `pageSize`) |
 * | `GET /api/message/<file>` | a message's headers, text, attachments and jobs |
 * | `GET /message/<file>/html` | its HTML part, under {@link HTML_PART_POLICY} |
 * | `GET /message/<file>/attachments/<n>` | an attachment, as a download |
 * | `GET /raw/<file>` | the raw source |
 * | `GET /api/job/<sqs message id>` | a job's receives, related jobs, messages and dead letters |
 * | `POST /api/dead-letters/redrive` | `{"ids": [...]}`: the same redrive as `mail-queue dlq redrive` |
 * | `GET /api/stats`, `/api/messages`, `/api/jobs` | everything at once, as JSON, for tools |
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { messageIdFor } from '../../message/index.js';
import type { Mailbox, MailboxEntry } from '../Mailbox.js';
import type { JobView, RunActivity } from '../RunActivity.js';
import { deadLetterRows, deadLetterText } from './deadLetters.js';
import type { DeadLetterRow } from './deadLetters.js';
import { listPage, listQueryOf } from './listing.js';
import { HTML_PART_POLICY, attachment, htmlPart, messageView } from './messageView.js';
import type { PageAssets } from './assets.js';

/** What the page may do to the dead-letter queue (the operator library's redrive, in the local run). */
export interface DeadLetterActions {
  /** Puts the named dead letters (DLQ message ids) back on the mail queue. */
  redrive(ids: string[]): Promise<RedriveOutcome>;
}

/** What a redrive from the page did, as the page says it. */
export interface RedriveOutcome {
  redriven: number;
  /** One line per letter that was not redriven, and why. */
  problems: string[];
}

/** Everything a route reads. */
export interface RouteContext {
  mailbox: Mailbox;
  activity: RunActivity;
  deadLetters?: DeadLetterActions | undefined;
  assets: PageAssets;
  token: string;
}

/** A reply: status, content type, body and any further headers. */
export interface RouteReply {
  status: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const TEXT = 'text/plain; charset=utf-8';
const NOT_FOUND: RouteReply = { status: 404, type: TEXT, body: 'not found\n' };

/** The reply to a request the guard let in (`GET /events` is answered by the server itself). */
export async function route(request: IncomingMessage, context: RouteContext): Promise<RouteReply> {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const parts = url.pathname.split('/').slice(1).map(decodedSegment);
  if (request.method === 'POST') {
    if (url.pathname === '/api/dead-letters/redrive') return redrive(request, context);
    return NOT_FOUND;
  }
  const { mailbox, activity } = context;
  switch (url.pathname) {
    case '/':
      return { status: 200, type: 'text/html; charset=utf-8', body: context.assets.page(context.token) };
    case '/api/overview':
      return json({
        stats: activity.stats(),
        tabs: { mailbox: mailbox.entries().length, jobs: activity.jobs().length, deadLetters: activity.deadLetters().length },
        redrive: context.deadLetters !== undefined,
      });
    case '/api/list/mailbox':
      return json(listPage(newestFirst(mailbox), listQueryOf(url.searchParams), { text: messageText, outcome: (entry) => entry.outcome }));
    case '/api/list/jobs':
      return json(listPage(activity.jobs(), listQueryOf(url.searchParams), { text: jobText, outcome: (job) => job.outcome }));
    case '/api/list/dead-letters':
      return json(
        listPage(deadLetterRows(activity.deadLetters()), listQueryOf(url.searchParams), { text: deadLetterText, outcome: (row) => row.kind }),
      );
    case '/api/stats':
      return json(activity.stats());
    case '/api/messages':
      return json(newestFirst(mailbox));
    case '/api/jobs':
      return json(activity.jobs());
    default:
      break;
  }
  const asset = parts[0] === 'assets' && parts.length === 2 ? context.assets.files.get(parts[1] ?? '') : undefined;
  if (asset !== undefined) return { status: 200, ...asset };
  if (parts[0] === 'raw' && parts.length === 2) return rawSource(mailbox, parts[1] ?? '');
  if (parts[0] === 'api' && parts[1] === 'message' && parts.length === 3) return messageDetail(context, parts[2] ?? '');
  if (parts[0] === 'api' && parts[1] === 'job' && parts.length === 3) return jobDetail(context, parts[2] ?? '');
  if (parts[0] === 'message' && parts[2] === 'html' && parts.length === 3) return htmlDocument(mailbox, parts[1] ?? '');
  if (parts[0] === 'message' && parts[2] === 'attachments' && parts.length === 4) return download(mailbox, parts[1] ?? '', Number(parts[3]));
  return NOT_FOUND;
}

/** A path segment decoded; a malformed escape (`%zz`) stays as it is, and so names nothing. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function json(value: unknown, status = 200): RouteReply {
  return { status, type: 'application/json; charset=utf-8', body: `${JSON.stringify(value, null, 2)}\n` };
}

function newestFirst(mailbox: Mailbox): MailboxEntry[] {
  return [...mailbox.entries()].reverse();
}

function messageText(entry: MailboxEntry): string {
  return [entry.subject, entry.from, ...entry.to, ...entry.refused.map((r) => r.address), entry.messageId ?? ''].join(' ');
}

function jobText(job: JobView): string {
  return [job.messageId, job.jobId ?? '', job.subject, ...job.recipients, job.outcome, job.detail].join(' ');
}

/** The left side of a Message-ID (`<left@right>`), which is the job id for most jobs. */
function messageIdLeft(messageId: string | undefined): string | undefined {
  const at = messageId?.lastIndexOf('@') ?? -1;
  return messageId === undefined || at < 1 ? undefined : messageId.slice(1, at);
}

/** Whether a stored message is what the job became: its Message-ID is the one the job's id gives. */
function becameMessage(job: JobView, entry: MailboxEntry): boolean {
  return job.jobId !== undefined && messageIdLeft(entry.messageId) === messageIdLeft(messageIdFor(job.jobId, 'x'));
}

async function rawSource(mailbox: Mailbox, file: string): Promise<RouteReply> {
  const source = await mailbox.raw(file);
  return source === undefined ? NOT_FOUND : { status: 200, type: TEXT, body: source };
}

async function messageDetail(context: RouteContext, file: string): Promise<RouteReply> {
  const entry = context.mailbox.entries().find((e) => e.file === file);
  const source = await context.mailbox.raw(file);
  if (entry === undefined || source === undefined) return NOT_FOUND;
  const jobs = context.activity.jobs().filter((job) => becameMessage(job, entry));
  return json({ entry, view: await messageView(source), jobs });
}

async function htmlDocument(mailbox: Mailbox, file: string): Promise<RouteReply> {
  const source = await mailbox.raw(file);
  const html = source === undefined ? undefined : await htmlPart(source);
  if (html === undefined) return NOT_FOUND;
  return { status: 200, type: 'text/html; charset=utf-8', body: html, headers: { 'Content-Security-Policy': HTML_PART_POLICY } };
}

async function download(mailbox: Mailbox, file: string, index: number): Promise<RouteReply> {
  const source = await mailbox.raw(file);
  const found = source === undefined || !Number.isInteger(index) ? undefined : await attachment(source, index);
  if (found === undefined) return NOT_FOUND;
  const name = found.view.filename.replace(/[^\w.\- ]/g, '_');
  return {
    status: 200,
    type: 'application/octet-stream',
    body: found.content,
    // Always a download, never shown by the browser: an HTML or SVG attachment would run here.
    headers: { 'Content-Disposition': `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(found.view.filename)}` },
  };
}

function jobDetail(context: RouteContext, messageId: string): RouteReply {
  const jobs = context.activity.jobs();
  const job = jobs.find((j) => j.messageId === messageId);
  const deadLetters = deadLetterRows(context.activity.deadLetters());
  if (job === undefined) return NOT_FOUND;
  const sameJob = (other: { jobId?: string | undefined }): boolean => job.jobId !== undefined && other.jobId === job.jobId;
  return json({
    job,
    attempts: context.activity.jobAttempts(messageId),
    related: jobs.filter((other) => other.messageId !== messageId && sameJob(other)),
    messages: newestFirst(context.mailbox).filter((entry) => becameMessage(job, entry)),
    deadLetters: deadLetters.filter((row: DeadLetterRow) => row.sourceMessageId === messageId || sameJob(row)),
  });
}

async function redrive(request: IncomingMessage, context: RouteContext): Promise<RouteReply> {
  if (context.deadLetters === undefined) return json({ error: 'redrive is not available in this run' }, 501);
  let ids: unknown;
  try {
    ids = (JSON.parse(await bodyOf(request)) as { ids?: unknown }).ids;
  } catch {
    return json({ error: 'the body must be JSON: {"ids": ["<DLQ message id>", ...]}' }, 400);
  }
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((id): id is string => typeof id === 'string' && id.length <= 200)) {
    return json({ error: 'ids: a list of 1 to 1000 DLQ message ids' }, 400);
  }
  const outcome = await context.deadLetters.redrive(ids);
  context.activity.redriven(outcome.redriven, 'web page');
  return json(outcome);
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > 256 * 1024) throw new Error('body too large');
  }
  return text;
}
