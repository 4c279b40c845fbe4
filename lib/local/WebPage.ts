/**
 * The local run's web page (node:http on 127.0.0.1): a mail UI in three tabs, Mailbox (what the
 * SMTP server received: headers, text, HTML rendered with no script and no remote load,
 * attachments, raw source), Jobs (each job taken from the queue: its receives, outcomes and
 * reasons, re-enqueues, the message it became) and Dead letters (why each job is there, and a
 * Redrive button doing what `mail-queue dlq redrive` does). Lists are searched and paged on the
 * server; the page updates itself through server-sent events. The files of the page are in
 * `web/assets/`, the routes in `web/routes.ts`, the request guard in `web/guard.ts`.
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Mailbox } from './Mailbox.js';
import { listenOn } from './ports.js';
import type { RunActivity } from './RunActivity.js';
import { loadPageAssets } from './web/assets.js';
import { guardRequest, newPageToken } from './web/guard.js';
import { LiveUpdates } from './web/liveUpdates.js';
import { route } from './web/routes.js';
import type { DeadLetterActions, RouteContext, RouteReply } from './web/routes.js';

export type { DeadLetterActions, RedriveOutcome } from './web/routes.js';

/** Options of {@link startWebPage}. */
export interface WebPageOptions {
  port: number;
  mailbox: Mailbox;
  activity: RunActivity;
  /** What the Redrive button calls; without it the button is not shown. */
  deadLetters?: DeadLetterActions;
}

/** The running page. */
export interface WebPage {
  port: number;
  url: string;
  /** The run's token, which every `POST` must carry in its `X-Mail-Token` header. */
  token: string;
  stop(): Promise<void>;
}

/** Headers of every answer; the page's policy allows its own script, style and requests only. */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
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
  const live = new LiveUpdates();
  const unsubscribe = options.activity.subscribe(() => live.changed());
  const context: RouteContext = {
    mailbox: options.mailbox,
    activity: options.activity,
    deadLetters: options.deadLetters,
    assets: await loadPageAssets(),
    token: newPageToken(),
  };
  const server = createServer((request, response) => {
    void answer(request, response, context, live, port).catch(() => {
      if (!response.headersSent) send(response, { status: 500, type: 'text/plain; charset=utf-8', body: 'internal error\n' });
      else response.destroy();
    });
  });
  const port = await listenOn(server, options.port, 'web page', '--web-port');
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    token: context.token,
    stop: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        live.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, context: RouteContext, live: LiveUpdates, port: number): Promise<void> {
  const refusal = guardRequest(request.method, request.headers, port, context.token);
  if (refusal !== undefined) {
    send(response, { status: refusal.status, type: 'text/plain; charset=utf-8', body: refusal.body });
    return;
  }
  if (request.method === 'GET' && request.url === '/events') {
    live.open(response, SECURITY_HEADERS);
    return;
  }
  send(response, await route(request, context));
}

function send(response: ServerResponse, reply: RouteReply): void {
  response.writeHead(reply.status, {
    'Content-Type': reply.type,
    'Content-Length': Buffer.byteLength(reply.body),
    ...SECURITY_HEADERS,
    ...reply.headers,
  });
  response.end(reply.body);
}
