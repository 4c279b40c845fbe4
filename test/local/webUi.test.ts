/**
 * The local mail UI as a developer uses it, in headless Chromium against `npm start` run as its
 * own process: 120 jobs and a few special ones go through the real pipeline, then the page is
 * driven: the tabs and their counts, paging, search and outcome filters, a message whose HTML
 * tries to run a script and to load from a server of the test's own (it must get no request),
 * a job's receives and re-enqueue, a dead letter redriven and seen delivered without a reload,
 * cross-site requests refused, and the layout at phone width. `UI_SCREENSHOTS=1` also writes
 * docs/screenshots/*.png (for the README).
 */
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRunState } from '../../lib/publish/localRun.js';
import type { ActivityStats } from '../../lib/local/RunActivity.js';
import { eventually, interrupt, ROOT, spawnLocalRun, whenReady } from './localRunProcess.js';
import type { LocalRunProcess } from './localRunProcess.js';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const SCREENSHOTS = process.env['UI_SCREENSHOTS'] === '1' ? path.join(ROOT, 'docs', 'screenshots') : undefined;

let home: string;
let run: LocalRunProcess;
let state: LocalRunState;
let sqs: SQSClient;
let browser: Browser;
/** A server of the test's own, standing for the rest of the web: it records every request. */
let elsewhere: Server;
let elsewhereUrl: string;
const hits: string[] = [];

async function getJson<T>(url: string): Promise<T> {
  const reply = await fetch(url);
  if (!reply.ok) throw new Error(`${url}: HTTP ${reply.status}`);
  return (await reply.json()) as T;
}

const job = (fields: Record<string, unknown>): string => JSON.stringify({ v: 1, ...fields });

/** The HTML part of the hostile message: a script, an inline handler, and loads from elsewhere. */
function hostileHtml(): string {
  return [
    `<meta http-equiv="refresh" content="0;url=${elsewhereUrl}refresh">`,
    `<link rel="stylesheet" href="${elsewhereUrl}style.css">`,
    '<p id="static">Static text</p>',
    `<script>document.getElementById('static').textContent = 'SCRIPT RAN'; fetch('${elsewhereUrl}script');</script>`,
    `<img src="${elsewhereUrl}pixel.png" alt="remote">`,
    `<img src="x" onerror="document.body.dataset.ran = 'yes'">`,
    `<div style="background: url(${elsewhereUrl}background.png)">styled</div>`,
  ].join('\n');
}

async function settle(what: string, done: (stats: ActivityStats) => boolean, timeoutMs: number): Promise<ActivityStats> {
  return eventually(
    async () => {
      const stats = await getJson<ActivityStats>(`${state.webUrl}api/stats`);
      return done(stats) && stats.queue.ready + stats.queue.inFlight + stats.queue.delayed === 0 ? stats : undefined;
    },
    timeoutMs,
    what,
  );
}

async function open(hash: string, width = 1100): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 720 } });
  await page.goto(`${state.webUrl}${hash}`);
  await page.locator('#live.on').waitFor(); // the live updates are connected
  return page;
}

async function shoot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  const { width, height } = page.viewportSize() ?? { width: 1100, height: 720 };
  // The top 600 pixels, at most: each picture stays under 150 KB for the README.
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), clip: { x: 0, y: 0, width, height: Math.min(height, 600) } });
}

beforeAll(async () => {
  elsewhere = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/attack') === true) {
      // A page of another site posting to the local page, as a cross-site request forgery would.
      const ids = new URL(req.url, 'http://x').searchParams.get('ids') ?? '';
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(
        `<form method="post" enctype="text/plain" action="${state.webUrl}api/dead-letters/redrive">` +
          `<input name='{"ids":["${ids}"],"x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/`;

  home = await mkdtemp(path.join(tmpdir(), 'web-ui-'));
  const stateDir = path.join(home, '.local');
  run = spawnLocalRun(['--sqs-port', '0', '--smtp-port', '0', '--web-port', '0', '--state-dir', stateDir]);
  state = await whenReady(run, stateDir);
  sqs = new SQSClient({ endpoint: state.sqsEndpoint, region: state.region, credentials: state.credentials });

  const bulk = Array.from({ length: 120 }, (_, index) => {
    const n = String(index + 1).padStart(3, '0');
    return { Id: `b${n}`, MessageBody: job({ id: `bulk-${n}`, to: `reader${index + 1}@example.com`, subject: `Bulk ${n}`, text: `message ${n}` }) };
  });
  for (let start = 0; start < bulk.length; start += 10) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: state.queueUrl, Entries: bulk.slice(start, start + 10) }));
  }
  const notes = Buffer.from('hello attachment').toString('base64');
  const special = [
    job({
      id: 'ui-html',
      to: 'Ann <ann@example.com>',
      subject: 'Hostile HTML',
      text: 'The text part',
      html: hostileHtml(),
      attachments: [{ filename: 'notes.txt', contentType: 'text/plain', content: notes }],
    }),
    job({ id: 'ui-refused', to: 'refuse+for-good@example.com', subject: 'Refused for good', text: 'nobody' }),
    job({
      id: 'ui-requeued',
      to: ['carol@example.com', 'later+requeued@example.com'],
      subject: 'Half now, half later',
      text: 'later@ takes it next time',
    }),
  ];
  for (const body of special) await sqs.send(new SendMessageCommand({ QueueUrl: state.queueUrl, MessageBody: body }));
  // A job SQS moved to the DLQ after too many receives (a relay down, say): nothing attached.
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: state.dlqUrl,
      MessageBody: job({ id: 'ui-revived', to: 'dan@example.com', subject: 'Back from the DLQ', text: 'hi' }),
    }),
  );

  // later@ refuses for now the first time: the job is re-enqueued for it, delayed.
  await settle('every job settled', (stats) => stats.stored === 123 && stats.dlq === 2, 90_000);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
}, 120_000);

afterAll(async () => {
  // Each one is unset when beforeAll failed before making it.
  await (browser as Browser | undefined)?.close();
  const server = elsewhere as Server | undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  (sqs as SQSClient | undefined)?.destroy();
  if ((run as LocalRunProcess | undefined) !== undefined) await interrupt(run);
  await rm(home, { recursive: true, force: true });
});

describe('the local mail UI in a browser', () => {
  it('shows the three tabs with their counts, newest first, 50 to a page', async () => {
    const page = await open('');
    expect(await page.title()).toBe('outbound-mail local run');
    await expect.poll(() => page.locator('#tab-mailbox .count').textContent()).toBe('123');
    expect(await page.locator('#tab-jobs .count').textContent()).toBe('124'); // 123 jobs, one re-enqueued part
    expect(await page.locator('#tab-dead-letters .count').textContent()).toBe('2');
    expect(await page.locator('#count-delivered b').textContent()).toBe('123');
    const rows = page.locator('#list-mailbox tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    expect(await page.locator('#pager .where').textContent()).toBe('1–50 of 123 · page 1 of 3');
    const received = await page.locator('#list-mailbox tbody td:first-child').allTextContents();
    expect(received).toEqual([...received].sort().reverse());
    await shoot(page, 'mailbox');

    await page.locator('#pager a[rel=next]').click();
    await expect.poll(() => page.locator('#pager .where').textContent()).toBe('51–100 of 123 · page 2 of 3');
    await page.locator('#pager a[rel=next]').click();
    await expect.poll(() => page.locator('#pager .where').textContent()).toBe('101–123 of 123 · page 3 of 3');
    expect(await rows.count()).toBe(23);
    expect(page.url()).toMatch(/#mailbox\?page=3$/);
    await page.locator('#tab-jobs').click();
    await expect.poll(() => page.locator('#list-jobs tbody tr').count()).toBe(50);
    await shoot(page, 'jobs');
    await page.close();
  });

  it('searches by subject, recipient and job id, and filters by outcome', async () => {
    const page = await open('#mailbox');
    const subjects = page.locator('#list-mailbox tbody td[data-label=subject]');
    await page.locator('#search').fill('bulk 007');
    await expect.poll(() => subjects.allTextContents()).toEqual(['Bulk 007']);
    await page.locator('#search').fill('reader12@example.com');
    await expect.poll(() => subjects.allTextContents()).toEqual(['Bulk 012']);
    await page.locator('#search').fill('ui-html');
    await expect.poll(() => subjects.allTextContents()).toEqual(['Hostile HTML']);
    await page.locator('#search').fill('');
    await page.locator('#outcome').selectOption('partly refused');
    await expect.poll(() => subjects.allTextContents()).toEqual(['Half now, half later']);

    await page.locator('#tab-jobs').click();
    await page.locator('#outcome').waitFor();
    await page.locator('#outcome').selectOption('dead-lettered');
    const jobs = page.locator('#list-jobs tbody td[data-label=job]');
    await expect.poll(() => jobs.allTextContents()).toEqual(['ui-refused']);
    expect(page.url()).toMatch(/#jobs\?outcome=dead-lettered$/);
    await page.close();
  });

  it('opens a message: HTML rendered with no script run and nothing loaded from elsewhere, text, headers, attachments, raw source', async () => {
    const page = await open('#mailbox?q=ui-html');
    await page.locator('#list-mailbox tbody a', { hasText: 'Hostile HTML' }).click();
    await expect.poll(() => page.locator('#subject').textContent()).toBe('Hostile HTML');
    const frame = page.locator('#html-part');
    expect(await frame.getAttribute('sandbox')).toBe('');
    const html = page.frameLocator('#html-part');
    await expect.poll(() => html.locator('#static').textContent()).toBe('Static text');
    expect(await html.locator('div').textContent()).toBe('styled');
    expect(await html.locator('body').getAttribute('data-ran')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // time for any load or refresh to be tried
    expect(hits).toEqual([]);
    expect(await html.locator('#static').textContent()).toBe('Static text');
    await shoot(page, 'message');

    expect(await page.locator('#attachments li').allTextContents()).toEqual(['notes.txt text/plain · 16 B']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#attachments a').click()]);
    expect(download.suggestedFilename()).toBe('notes.txt');
    expect(await readFile(await download.path(), 'utf8')).toBe('hello attachment');

    const [eml] = await Promise.all([page.waitForEvent('download'), page.locator('a.download').click()]);
    expect(eml.suggestedFilename()).toMatch(/\.eml$/);
    expect(await readFile(await eml.path(), 'utf8')).toMatch(/^Subject: Hostile HTML\r$/m);
    await page.locator('#show-text').click();
    expect(await page.locator('#text-part').textContent()).toBe('The text part');
    await page.locator('#show-headers').click();
    expect(await page.locator('#headers tr', { hasText: 'Message-ID' }).locator('td').textContent()).toBe('<ui-html@outbound-mail.test>');
    await page.locator('#show-raw').click();
    await expect.poll(() => page.locator('#raw-source').textContent()).toContain('Content-Type: multipart/mixed');
    expect(await page.locator('.job-link').allTextContents()).toEqual(['ui-html (delivered)']);
    await page.close();
  });

  it("shows a job's receives with each outcome and reason, its re-enqueued part, and the messages it became", async () => {
    const page = await open('#jobs?q=ui-requeued');
    const links = page.locator('#list-jobs tbody td[data-label=job] a');
    await expect.poll(() => links.count()).toBe(2);
    await page.locator('#list-jobs tbody tr', { hasText: 'partly refused' }).locator('a').click();
    await expect.poll(() => page.locator('#job-id').textContent()).toBe('ui-requeued');
    const attempt = page.locator('#attempts tbody tr');
    expect(await attempt.count()).toBe(1);
    expect(await attempt.locator('td[data-label=outcome]').textContent()).toBe('partly refused partlyRefused');
    expect(await attempt.locator('td[data-label="what happened"]').textContent()).toBe(
      '1 accepted, refused: 450 for now at example.com; 1 re-enqueued as a new job',
    );
    expect(await page.locator('#related li').allTextContents()).toEqual([expect.stringMatching(/^\S+ delivered 1 recipient\(s\) took it$/)]);
    expect(await page.locator('#job-messages li').count()).toBe(2); // carol@ at once, later@ on the re-enqueued job
    await shoot(page, 'job');

    await page.goto(`${state.webUrl}#jobs?q=ui-refused`);
    await page.locator('#list-jobs tbody a').click();
    await expect.poll(() => page.locator('#job-id').textContent()).toBe('ui-refused');
    expect(await page.locator('#attempts td[data-label=reason]').textContent()).toMatch(
      /^rcpt 550: The server refused every recipient: <…@example\.com> 550 /,
    );
    expect(await page.locator('#job-messages').textContent()).toBe('none in the mailbox');
    expect(await page.locator('#job-dead-letters li').textContent()).toBe(
      'permanent: rcpt 550: The server refused every recipient: <refuse+for-good@example.com> 550 Mailbox unavailable: this local recipient always refuses (RecipientsRefusedError) Redrive',
    );
    await page.close();
  });

  it('redrives a dead letter with its button and shows it delivered, without reloading the page', async () => {
    const page = await open('#dead-letters');
    const rows = page.locator('#list-dead-letters tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const revived = rows.filter({ hasText: 'Back from the DLQ' });
    expect(await revived.locator('td[data-label=kind]').textContent()).toBe('moved by SQS');
    expect(await revived.locator('td[data-label=reason]').textContent()).toBe('moved by SQS after too many receives: no reason attached');
    expect(await rows.filter({ hasText: 'Refused for good' }).locator('td[data-label=kind]').textContent()).toBe('permanent');
    expect(await page.locator('#redrive-all button').textContent()).toBe('Redrive these 2');
    await shoot(page, 'dead-letters');
    await page.evaluate('window.stillHere = true');

    await revived.locator('button.redrive').click();
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Redriven 1 of 1 to the mail queue');
    await expect.poll(() => page.locator('#tab-dead-letters .count').textContent(), { timeout: 15_000 }).toBe('1');
    await expect.poll(() => page.locator('#tab-mailbox .count').textContent(), { timeout: 15_000 }).toBe('124');
    expect(await rows.allTextContents()).toEqual([expect.stringContaining('Refused for good')]);
    expect(await page.evaluate('window.stillHere')).toBe(true);

    await page.locator('#tab-mailbox').click();
    await expect.poll(() => page.locator('#list-mailbox tbody tr').first().textContent()).toContain('Back from the DLQ');
    expect(await page.locator('#list-mailbox tbody tr').first().locator('td[data-label=outcome]').textContent()).toBe('delivered');
    const messages = await getJson<{ subject: string; messageId: string }[]>(`${state.webUrl}api/messages`);
    expect(messages[0]).toMatchObject({ subject: 'Back from the DLQ', messageId: '<ui-revived@outbound-mail.test>' });
    await page.close();
  });

  it('refuses cross-site requests: a form posted from another site, no token, a foreign Origin, a wrong Host', async () => {
    const [letter] = (await getJson<{ items: { messageId: string }[] }>(`${state.webUrl}api/list/dead-letters`)).items;
    const page = await browser.newPage();
    const refused = page.waitForResponse((response) => response.url().endsWith('/api/dead-letters/redrive'));
    await page.goto(`${elsewhereUrl}attack?ids=${letter!.messageId}`);
    expect((await refused).status()).toBe(403);
    await page.close();

    const post = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const web = new URL(state.webUrl);
        const req = request(
          { host: '127.0.0.1', port: web.port, method: 'POST', path: '/api/dead-letters/redrive', headers: { host: web.host, ...headers } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ ids: [letter!.messageId] }));
      });
    const token = /<meta name="mail-token" content="([^"]+)"/.exec(await (await fetch(state.webUrl)).text())![1]!;
    expect(await post({})).toBe(403);
    expect(await post({ 'x-mail-token': token, origin: 'https://attacker.example' })).toBe(403);
    expect(await post({ 'x-mail-token': token, host: `rebind.attacker.example:${new URL(state.webUrl).port}` })).toBe(421);
    expect((await getJson<ActivityStats>(`${state.webUrl}api/stats`)).dlq).toBe(1); // still there
  });

  it('fits a phone (390 px wide) with no sideways scrolling, lists and message alike', async () => {
    const page = await open('#mailbox', 390);
    for (const hash of ['#mailbox', '#jobs', '#dead-letters', '#mailbox?q=ui-html']) {
      await page.goto(`${state.webUrl}${hash}`);
      await page.locator('tbody tr').first().waitFor();
      expect(await page.evaluate<number>('document.documentElement.scrollWidth'), hash).toBeLessThanOrEqual(390);
    }
    await page.locator('#list-mailbox tbody a').click();
    await page.locator('#html-part').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.goto(`${state.webUrl}#mailbox`);
    await page.locator('tbody tr').first().waitFor();
    await shoot(page, 'phone');
    await page.close();
  });
});
