/**
 * The web page's own rules, in-process: what it escapes, which hosts and paths it answers, and
 * its headers. (The page as a whole is tested in a headless browser in localRun.test.ts.)
 */
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mailbox } from '../../lib/local/Mailbox.js';
import { RunActivity } from '../../lib/local/RunActivity.js';
import { startWebPage } from '../../lib/local/WebPage.js';
import type { WebPage } from '../../lib/local/WebPage.js';

let dir: string;
let page: WebPage;
let stored: string;

/** A GET with a chosen Host header (fetch does not let one set it). */
function get(urlPath: string, host = `127.0.0.1:${page.port}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: page.port, path: urlPath, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'web-page-'));
  const mailbox = await Mailbox.open(dir);
  const raw = Buffer.from(
    'From: a@example.com\r\nTo: "<b>" <b@example.com>\r\nSubject: <script>alert(1)</script> & "quotes"\r\n\r\n<img src=x onerror=alert(2)>\r\n',
  );
  stored = (await mailbox.store({ from: 'a@example.com', to: ['b@example.com'], refused: [{ address: '<i>@example.com', code: 550 }], raw })).file;
  await writeFile(path.join(dir, 'secret.txt'), 'not for the page');
  page = await startWebPage({ port: 0, mailbox, activity: new RunActivity() });
});

afterAll(async () => {
  await page.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the web page', () => {
  it('escapes what messages say and forbids scripts', async () => {
    const reply = await get('/');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;');
    expect(reply.body).toContain('&#60;i&#62;@example.com (550) refused');
    expect(reply.body).not.toContain('<script>');
    expect(reply.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves the raw source as plain text, and only of messages in the mailbox', async () => {
    const raw = await get(`/raw/${stored}`);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(raw.body).toContain('<img src=x onerror=alert(2)>');
    expect((await get('/raw/secret.txt')).status).toBe(404);
    expect((await get('/raw/..%2Fsecret.txt')).status).toBe(404);
    expect((await get('/raw/2026-01-01T00-00-00-000Z-9-ab.eml')).status).toBe(404);
  });

  it('answers only requests for 127.0.0.1 or localhost (no DNS rebinding)', async () => {
    expect((await get('/api/stats', `localhost:${page.port}`)).status).toBe(200);
    expect((await get('/api/stats', `attacker.example:${page.port}`)).status).toBe(421);
    expect((await get('/api/stats', '127.0.0.1')).status).toBe(421);
  });

  it('gives the counts and the messages as JSON', async () => {
    expect(JSON.parse((await get('/api/stats')).body)).toEqual({
      received: 0,
      delivered: 0,
      retried: 0,
      deadLettered: 0,
      reEnqueued: 0,
      stored: 0,
      queue: { ready: 0, inFlight: 0, delayed: 0 },
      dlq: 0,
    });
    const [message] = JSON.parse((await get('/api/messages')).body) as { subject: string; outcome: string }[];
    expect(message).toMatchObject({ subject: '<script>alert(1)</script> & "quotes"', outcome: 'partly refused' });
    expect((await get('/nothing')).status).toBe(404);
  });
});
