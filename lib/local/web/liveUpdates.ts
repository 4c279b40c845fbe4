/**
 * Live updates for the page, as server-sent events (`GET /events`): a `change` event whenever the
 * run's counts, jobs, mailbox or queues change (at most one per {@link LiveUpdates} interval), so
 * the page fetches what it shows again without being reloaded; a comment every 15 s keeps idle
 * connections open through anything that would close them.
 * @module
 */
import type { ServerResponse } from 'node:http';

/** The open event streams of the page. */
export class LiveUpdates {
  readonly #clients = new Set<ServerResponse>();
  readonly #intervalMs: number;
  readonly #keepAlive: NodeJS.Timeout;
  #pending: NodeJS.Timeout | undefined;
  #last = 0;

  /** @param intervalMs least time between two `change` events */
  constructor(intervalMs = 250) {
    this.#intervalMs = intervalMs;
    this.#keepAlive = setInterval(() => this.#send(': keep-alive\n\n'), 15_000);
    this.#keepAlive.unref();
  }

  /** Answers `GET /events`: the response stays open until the page goes or the server stops. */
  open(response: ServerResponse, headers: Record<string, string>): void {
    response.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
    response.write('retry: 1000\n\n');
    this.#clients.add(response);
    response.on('close', () => this.#clients.delete(response));
  }

  /** Says that something changed (coalesced: one event per interval at most). */
  changed(): void {
    if (this.#pending !== undefined) return;
    const wait = Math.max(0, this.#last + this.#intervalMs - Date.now());
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#last = Date.now();
      this.#send(`event: change\ndata: ${this.#last}\n\n`);
    }, wait);
  }

  /** How many pages are listening. */
  get listeners(): number {
    return this.#clients.size;
  }

  /** Ends every stream and the timers. */
  close(): void {
    clearInterval(this.#keepAlive);
    clearTimeout(this.#pending);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #send(text: string): void {
    for (const client of this.#clients) client.write(text);
  }
}
