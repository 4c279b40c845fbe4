/**
 * The local run's small web page (node:http on 127.0.0.1): the counts, the messages the SMTP
 * server received (subject, recipients, outcome, a link to the raw source) and the jobs taken
 * from the queue with their latest outcome. No script: the page reloads itself every few seconds.
 * JSON for tools and tests: `/api/stats`, `/api/messages`, `/api/jobs`.
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Mailbox, MailboxEntry } from './Mailbox.js';
import { WRONG_HOST, isLoopbackHost } from './loopbackHost.js';
import { listenOn } from './ports.js';
import type { ActivityStats, JobView, RunActivity } from './RunActivity.js';

/** Options of {@link startWebPage}. */
export interface WebPageOptions {
  port: number;
  mailbox: Mailbox;
  activity: RunActivity;
  /** Seconds between reloads of the page. @default 3 */
  refreshSeconds?: number;
}

/** The running page. */
export interface WebPage {
  port: number;
  url: string;
  stop(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * Starts the page on `127.0.0.1:port`.
 * @throws {PortInUseError} when the port is taken
 * @example
 * const page = await startWebPage({ port: 8025, mailbox, activity });
 * console.log(page.url); // http://127.0.0.1:8025/
 */
export async function startWebPage(options: WebPageOptions): Promise<WebPage> {
  const server = createServer((request, response) => {
    void route(request, response, options, port).catch(() => {
      send(response, 500, TEXT, 'internal error\n');
    });
  });
  const port = await listenOn(server, options.port, 'web page', '--web-port');
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the page answers: status, content type and body. */
interface PageReply {
  status: number;
  type: string;
  body: string | Buffer;
}

async function route(request: IncomingMessage, response: ServerResponse, options: WebPageOptions, port: number): Promise<void> {
  const reply = await answer(request, options, port);
  send(response, reply.status, reply.type, reply.body);
}

async function answer(request: IncomingMessage, options: WebPageOptions, port: number): Promise<PageReply> {
  // Only pages asked for by this machine's own name for it: a web page elsewhere cannot reach
  // this one through a DNS name that points at 127.0.0.1.
  if (!isLoopbackHost(request.headers.host, port)) return { status: WRONG_HOST.status, type: TEXT, body: WRONG_HOST.body };
  if (request.method !== 'GET' && request.method !== 'HEAD') return { status: 405, type: TEXT, body: 'only GET\n' };
  const { pathname } = new URL(request.url ?? '/', 'http://127.0.0.1');
  const messages = (): MailboxEntry[] => [...options.mailbox.entries()].reverse();
  switch (pathname) {
    case '/':
      return {
        status: 200,
        type: 'text/html; charset=utf-8',
        body: page(options.activity.stats(), messages(), options.activity.jobs(), options.mailbox.dir, options.refreshSeconds ?? 3),
      };
    case '/api/stats':
      return json(options.activity.stats());
    case '/api/messages':
      return json(messages());
    case '/api/jobs':
      return json(options.activity.jobs());
    default:
      break;
  }
  const file = /^\/raw\/([^/]+)$/.exec(pathname)?.[1];
  if (file !== undefined) {
    const source = await options.mailbox.raw(decodeURIComponent(file));
    if (source !== undefined) return { status: 200, type: TEXT, body: source };
  }
  return { status: 404, type: TEXT, body: 'not found\n' };
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...SECURITY_HEADERS });
  response.end(body);
}

function json(value: unknown): PageReply {
  return { status: 200, type: 'application/json; charset=utf-8', body: `${JSON.stringify(value, null, 2)}\n` };
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(stats: ActivityStats, messages: MailboxEntry[], jobs: JobView[], mailDir: string, refresh: number): string {
  const count = (label: string, value: number, id: string): string => `<li id="${id}"><b>${value}</b> ${label}</li>`;
  const mailRows = messages
    .map((m) => {
      const refused = m.refused.map((r) => `${escapeHtml(r.address)} (${r.code})`).join(', ');
      return (
        `<tr><td>${escapeHtml(time(m.receivedAt))}</td><td>${escapeHtml(m.subject || '(no subject)')}</td><td>${escapeHtml(m.to.join(', '))}</td>` +
        `<td class="${m.outcome === 'delivered' ? 'ok' : 'warn'}">${m.outcome}${refused === '' ? '' : `: ${refused} refused`}</td>` +
        `<td><a href="/raw/${encodeURIComponent(m.file)}">${escapeHtml(m.file)}</a></td></tr>`
      );
    })
    .join('');
  const jobRows = jobs
    .map(
      (j) =>
        `<tr><td><code>${escapeHtml(j.messageId)}</code></td><td>${escapeHtml(j.subject || '(no subject)')}</td><td>${escapeHtml(j.recipients.join(', '))}</td>` +
        `<td>${j.receives}</td><td class="${outcomeClass(j.outcome)}">${escapeHtml(j.outcome)}</td><td>${escapeHtml(j.detail)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${refresh}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>outbound-mail local run</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
ul.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1.2em}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}th{background:#f4f4f4}
code{font-size:12px}.ok{color:#176f2c}.warn{color:#9a5b00}.bad{color:#b00020}p.where{color:#555}
</style></head><body>
<h1>outbound-mail local run</h1>
<ul class="counts">${count('received', stats.received, 'received')}${count('delivered', stats.delivered, 'delivered')}${count('retried', stats.retried, 'retried')}${count('dead-lettered', stats.deadLettered, 'dead-lettered')}${count('re-enqueued', stats.reEnqueued, 're-enqueued')}<li id="queued"><b>${stats.queue.ready + stats.queue.inFlight + stats.queue.delayed}</b> in the queue</li><li id="dlq"><b>${stats.dlq}</b> in the DLQ</li></ul>
<h2>Mailbox (${messages.length})</h2>
<p class="where">Files: <code>${escapeHtml(mailDir)}</code></p>
<table id="mailbox"><thead><tr><th>received</th><th>subject</th><th>recipients</th><th>outcome</th><th>raw source</th></tr></thead><tbody>${mailRows}</tbody></table>
<h2>Jobs taken from the queue (${jobs.length})</h2>
<table id="jobs"><thead><tr><th>SQS message id</th><th>subject</th><th>recipients</th><th>receives</th><th>outcome</th><th>detail</th></tr></thead><tbody>${jobRows}</tbody></table>
</body></html>
`;
}

function outcomeClass(outcome: string): string {
  if (outcome === 'delivered') return 'ok';
  if (outcome === 'dead-lettered' || outcome === 'batch failed') return 'bad';
  return 'warn';
}

function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
