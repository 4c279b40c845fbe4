/**
 * The web page's server, in-process: which requests it answers (Host, cross-site POSTs, the
 * token), its headers, its paged and searched lists, a message's parts and attachments, and the
 * live updates. (The page in a browser is tested in webUi.test.ts and localRun.test.ts.)
 */
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeMail } from '../../lib/message/index.js';
import { Mailbox } from '../../lib/local/Mailbox.js';
import { RunActivity } from '../../lib/local/RunActivity.js';
import { startWebPage } from '../../lib/local/WebPage.js';
import type { RedriveOutcome, WebPage } from '../../lib/local/WebPage.js';
import { HTML_PART_POLICY } from '../../lib/local/web/messageView.js';

let dir: string;
let page: WebPage;
let mailbox: Mailbox;
let activity: RunActivity;
let hostile: string;
let rich: string;
const redriveCalls: string[][] = [];
/** A 1x1 PNG. */
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with chosen headers (fetch does not let one set Host, Origin or Sec-Fetch-Site). */
function send(method: string, urlPath: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: page.port, method, path: urlPath, headers: { host: `127.0.0.1:${page.port}`, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const get = (urlPath: string, host?: string): Promise<Reply> => send('GET', urlPath, host === undefined ? {} : { host });
const json = async <T>(urlPath: string): Promise<T> => JSON.parse((await get(urlPath)).body) as T;

async function store(job: Record<string, unknown>, refused: { address: string; code: number }[] = []): Promise<string> {
  const { envelope, message } = await composeMail({ v: 1, from: 'shop@example.com', ...job } as never);
  return (await mailbox.store({ from: envelope.from, to: envelope.to, refused, raw: Buffer.from(message) })).file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'web-page-'));
  mailbox = await Mailbox.open(dir);
  activity = new RunActivity();
  for (let n = 1; n <= 120; n += 1) {
    await store({
      id: `bulk-${String(n).padStart(3, '0')}`,
      to: `reader${n}@example.com`,
      subject: `Bulk ${String(n).padStart(3, '0')}`,
      text: 'hi',
    });
  }
  hostile = (
    await mailbox.store({
      from: 'a@example.com',
      to: ['b@example.com'],
      refused: [{ address: '<i>@example.com', code: 550 }],
      raw: Buffer.from(
        'From: a@example.com\r\nTo: "<b>" <b@example.com>\r\nSubject: <script>alert(1)</script> & "quotes"\r\n\r\n<img src=x onerror=alert(2)>\r\n',
      ),
    })
  ).file;
  rich = await store(
    {
      id: 'rich-1',
      to: 'Ann <ann@example.com>',
      subject: 'Rich message',
      text: 'The text part',
      html: '<p>The HTML part</p><img src="cid:logo@shop"><script>document.title="ran"</script>',
      attachments: [
        { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('hello attachment').toString('base64') },
        { filename: 'logo.png', contentType: 'image/png', content: PIXEL, contentId: 'logo@shop' },
      ],
    },
    [{ address: 'refuse@example.com', code: 550 }],
  );
  await writeFile(path.join(dir, 'secret.txt'), 'not for the page');
  page = await startWebPage({
    port: 0,
    mailbox,
    activity,
    deadLetters: {
      redrive: (ids): Promise<RedriveOutcome> => {
        redriveCalls.push(ids);
        return Promise.resolve({ redriven: ids.length, problems: [] });
      },
    },
  });
});

afterAll(async () => {
  await page.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('what the page answers', () => {
  it('serves a static page with the run token, under a policy that runs its own script only', async () => {
    const reply = await get('/');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(`<meta name="mail-token" content="${page.token}" />`);
    expect(reply.body).not.toContain('Rich message'); // the lists come from the JSON API, drawn with textContent
    expect(reply.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/assets/dom.js')).body).toContain('export function h(');
    expect((await get('/assets/index.html')).status).toBe(404); // served at / only, with the token
    expect((await get('/assets/missing.js')).status).toBe(404);
    expect((await get('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect(page.token).toMatch(/^[\w-]{43}$/);
  });

  it('answers only requests for 127.0.0.1 or localhost with its port (no DNS rebinding), GETs and POSTs included', async () => {
    expect((await get('/api/stats', `localhost:${page.port}`)).status).toBe(200);
    expect((await get('/api/stats', `attacker.example:${page.port}`)).status).toBe(421);
    expect((await get('/api/stats', '127.0.0.1')).status).toBe(421);
    const post = await send(
      'POST',
      '/api/dead-letters/redrive',
      { host: `rebind.example:${page.port}`, 'x-mail-token': page.token },
      '{"ids":["a"]}',
    );
    expect(post.status).toBe(421);
    expect((await send('PUT', '/api/stats')).status).toBe(405);
    expect(redriveCalls).toEqual([]);
  });

  it('refuses a state-changing request without the token, with a wrong one, from another origin or another site', async () => {
    const body = '{"ids":["dlq-1"]}';
    const own = `http://127.0.0.1:${page.port}`;
    const cases: [Record<string, string>, string][] = [
      [{}, 'missing or wrong x-mail-token header\n'],
      [{ 'x-mail-token': `${page.token.slice(1)}x` }, 'missing or wrong x-mail-token header\n'],
      [{ 'x-mail-token': page.token, origin: 'https://attacker.example' }, 'cross-origin request refused\n'],
      [{ 'x-mail-token': page.token, origin: 'http://127.0.0.1:1' }, 'cross-origin request refused\n'],
      [{ 'x-mail-token': page.token, origin: own, 'sec-fetch-site': 'same-site' }, 'cross-site request refused\n'],
      [{ 'x-mail-token': page.token, 'sec-fetch-site': 'cross-site' }, 'cross-site request refused\n'],
    ];
    for (const [headers, refusal] of cases) {
      const reply = await send('POST', '/api/dead-letters/redrive', { 'content-type': 'application/json', ...headers }, body);
      expect([reply.status, reply.body], JSON.stringify(headers)).toEqual([403, refusal]);
    }
    expect(redriveCalls).toEqual([]);
    const allowed = await send(
      'POST',
      '/api/dead-letters/redrive',
      { 'x-mail-token': page.token, origin: own, 'sec-fetch-site': 'same-origin' },
      body,
    );
    expect([allowed.status, JSON.parse(allowed.body)]).toEqual([200, { redriven: 1, problems: [] }]);
    expect(redriveCalls).toEqual([['dlq-1']]);
    expect(activity.events.at(-1)).toMatchObject({
      kind: 'redriven',
      detail: '1 job(s) put back on the mail queue from the dead-letter queue (web page)',
    });
  });

  it('refuses a redrive body that is not a list of ids', async () => {
    for (const body of ['not json', '{}', '{"ids":[]}', '{"ids":[1]}']) {
      const reply = await send('POST', '/api/dead-letters/redrive', { 'x-mail-token': page.token }, body);
      expect(reply.status, body).toBe(400);
    }
    expect((await send('POST', '/api/other', { 'x-mail-token': page.token }, '{}')).status).toBe(404);
  });
});

describe('the lists', () => {
  it('pages the mailbox on the server, newest first, 50 to a page', async () => {
    interface Page {
      items: { subject: string }[];
      total: number;
      page: number;
      pages: number;
      outcomes: Record<string, number>;
    }
    const first = await json<Page>('/api/list/mailbox');
    expect([first.total, first.pages, first.page, first.items.length]).toEqual([122, 3, 1, 50]);
    expect(first.items.slice(0, 3).map((m) => m.subject)).toEqual(['Rich message', '<script>alert(1)</script> & "quotes"', 'Bulk 120']);
    expect(first.outcomes).toEqual({ delivered: 120, 'partly refused': 2 });
    const third = await json<Page>('/api/list/mailbox?page=3');
    expect([third.page, third.items.length, third.items.at(-1)?.subject]).toEqual([3, 22, 'Bulk 001']);
    expect((await json<Page>('/api/list/mailbox?page=99')).page).toBe(3);
    expect((await json<Page>('/api/list/mailbox?page=-1&pageSize=abc')).items).toHaveLength(50);
    expect((await json<Page>('/api/list/mailbox?pageSize=500')).items).toHaveLength(122);
  });

  it('searches subject, recipient and job id, and filters by outcome', async () => {
    const subjects = async (query: string): Promise<string[]> =>
      (await json<{ items: { subject: string }[] }>(`/api/list/mailbox?${query}`)).items.map((m) => m.subject);
    expect(await subjects('q=bulk%20007')).toEqual(['Bulk 007']);
    expect(await subjects('q=READER12%40example.com')).toEqual(['Bulk 012']);
    expect(await subjects('q=rich-1')).toEqual(['Rich message']); // the job id, in the Message-ID
    expect(await subjects('q=refuse%40example.com')).toEqual(['Rich message']); // a refused recipient
    expect(await subjects('outcome=partly%20refused')).toEqual(['Rich message', '<script>alert(1)</script> & "quotes"']);
    expect(await subjects('q=bulk&outcome=partly%20refused')).toEqual([]);
  });
});

describe('a message', () => {
  it('gives its headers, text part, attachments and the jobs it came from', async () => {
    const detail = await json<{ view: Record<string, unknown>; entry: { file: string } }>(`/api/message/${rich}`);
    expect(detail.entry.file).toBe(rich);
    expect(detail.view).toMatchObject({
      subject: 'Rich message',
      from: 'shop@example.com',
      to: '"Ann" <ann@example.com>', // as mailparser writes a named address
      text: 'The text part',
      hasHtml: true,
      attachments: [
        { index: 0, filename: 'logo.png', contentType: 'image/png', size: 70, disposition: 'inline' },
        { index: 1, filename: 'notes.txt', contentType: 'text/plain', size: 16, disposition: 'attachment' },
      ],
    });
    expect(detail.view['headers']).toContainEqual({ name: 'Message-ID', value: '<rich-1@example.com>' });
    expect((await get('/api/message/nothing.eml')).status).toBe(404);
  });

  it('serves the HTML part alone, under a policy with no script and no remote load, sandboxed', async () => {
    const html = await get(`/message/${rich}/html`);
    expect(html.status).toBe(200);
    expect(html.headers['content-security-policy']).toBe(HTML_PART_POLICY);
    expect(HTML_PART_POLICY).toBe("default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox");
    expect(html.body).toContain('<p>The HTML part</p>');
    expect(html.body).toContain(`<img src="data:image/png;base64,${PIXEL}">`); // the message's own picture, as img-src data: allows
    expect(html.body).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'">`,
    );
    expect((await get(`/message/${hostile}/html`)).status).toBe(404); // no HTML part
  });

  it('gives an attachment as a download, never to be shown by the browser', async () => {
    const file = await get(`/message/${rich}/attachments/1`);
    expect(file.status).toBe(200);
    expect(file.body).toBe('hello attachment');
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`);
    expect((await get(`/message/${rich}/attachments/2`)).status).toBe(404);
    expect((await get(`/message/${rich}/attachments/x`)).status).toBe(404);
  });

  it('serves the raw source as plain text, and only of messages in the mailbox', async () => {
    const raw = await get(`/raw/${hostile}`);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(raw.body).toContain('<img src=x onerror=alert(2)>');
    expect((await get('/raw/secret.txt')).status).toBe(404);
    expect((await get('/raw/..%2Fsecret.txt')).status).toBe(404);
    expect((await get('/message/..%2Fsecret.txt/html')).status).toBe(404);
    expect((await get('/raw/2026-01-01T00-00-00-000Z-9-ab.eml')).status).toBe(404);
    expect((await get('/raw/%zz')).status).toBe(404);
  });
});

describe('the JSON for tools and the live updates', () => {
  it('gives the counts and everything at once', async () => {
    expect(await json('/api/stats')).toMatchObject({ received: 0, stored: 0, queue: { ready: 0, inFlight: 0, delayed: 0 }, dlq: 0 });
    expect(await json('/api/overview')).toMatchObject({ tabs: { mailbox: 122, jobs: 0, deadLetters: 0 }, redrive: true });
    const messages = await json<{ subject: string; outcome: string }[]>('/api/messages');
    expect(messages).toHaveLength(122);
    expect(messages[1]).toMatchObject({ subject: '<script>alert(1)</script> & "quotes"', outcome: 'partly refused' });
    expect(await json('/api/jobs')).toEqual([]);
    expect((await get('/nothing')).status).toBe(404);
  });

  it('sends a change event to an open page when the run changes', async () => {
    const events: string[] = [];
    const stream = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: page.port, path: '/events', headers: { host: `localhost:${page.port}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    stream.on('data', (chunk: Buffer) => events.push(chunk.toString()));
    const entry = mailbox.entries()[0]!;
    activity.stored(entry, dir);
    activity.stored(entry, dir); // two changes within the interval: one event
    await new Promise((resolve) => setTimeout(resolve, 600));
    stream.destroy();
    expect(events.join('')).toMatch(/^retry: 1000\n\nevent: change\ndata: \d+\n\n$/);
  });
});
