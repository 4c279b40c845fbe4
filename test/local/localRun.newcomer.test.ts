/**
 * What a newcomer does after `npm start` (run as its own process), from a second terminal.
 *
 * Issue 11's "done when": `npm start` as its own process, then from a second
 * terminal `mail-queue send --attach <25 MiB file>` with no queue or payload flags (the CLI finds the
 * queue and the claim-check bucket in the run's `.local/state.json`). The message in the local
 * mailbox carries the file with the same SHA-256, the web page's API lists the attachment with its
 * name and size and serves it back intact, and the claim check is gone from the bucket once delivered.
 *
 * The allow-list: the local run copies `allowedRecipients` of its `cdk.json` environment (dev:
 * `example.com`), so recipients elsewhere are left out (`suppressed`) as the dev stack leaves them out.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityStats, JobView } from '../../lib/local/RunActivity.js';
import type { MailboxEntry } from '../../lib/local/Mailbox.js';
import type { AttachmentView } from '../../lib/local/web/messageView.js';
import type { LocalRunState } from '../../lib/publish/localRun.js';
import { eventually, interrupt, mailQueue, spawnLocalRun, whenReady } from './localRunProcess.js';
import type { LocalRunProcess } from './localRunProcess.js';

/** 25 MiB: 34.6 MiB once base64-encoded in the message, a 33.4 MiB job as JSON (through S3). */
const FILE_BYTES = 25 * 1024 * 1024;
const FILE_NAME = 'quarterly-report.pdf';

let home: string;
let stateDir: string;
let run: LocalRunProcess;
let state: LocalRunState;

async function getJson<T>(url: string): Promise<T> {
  const reply = await fetch(url);
  if (!reply.ok) throw new Error(`${url}: HTTP ${reply.status}`);
  return (await reply.json()) as T;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'local-run-large-'));
  stateDir = path.join(home, '.local');
  run = spawnLocalRun(['--sqs-port', '0', '--smtp-port', '0', '--web-port', '0', '--state-dir', stateDir]);
  state = await whenReady(run, stateDir);
});

afterAll(async () => {
  if ((run as LocalRunProcess | undefined) !== undefined) await interrupt(run);
  await rm(home, { recursive: true, force: true });
});

describe('a 25 MiB attachment from the CLI, against npm start', () => {
  it('reaches the local mailbox intact, the web page lists it, and the claim check is deleted', async () => {
    const content = randomBytes(FILE_BYTES);
    const expected = sha256(content);
    const file = path.join(home, FILE_NAME);
    await writeFile(file, content);

    const sent = await mailQueue(
      ['send', '--to', 'ann@example.com', '--subject', 'The quarterly report', '--text', 'Attached.', '--attach', file],
      home,
    );

    expect(sent.stderr).toBe(`mail-queue: no queue URL given: using the local run's queue (npm start, pid ${state.pid}) ${state.queueUrl}\n`);
    expect(sent.stdout).toMatch(/^sent job content\.[0-9a-f]{32} as SQS message [0-9a-f-]{36}\n$/);
    expect(sent.code).toBe(0);

    const entry = await eventually(
      async () => (await getJson<MailboxEntry[]>(`${state.webUrl}api/messages`)).find((e) => e.subject === 'The quarterly report'),
      120_000,
      'the message in the local mailbox',
    );
    expect(entry).toMatchObject({ to: ['ann@example.com'], refused: [], outcome: 'delivered' });

    // The .eml file as the SMTP server stored it.
    const stored = await simpleParser(await readFile(path.join(state.mailDir, entry.file)));
    expect(stored.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size }))).toEqual([
      { filename: FILE_NAME, contentType: 'application/pdf', size: FILE_BYTES },
    ]);
    expect(sha256(stored.attachments[0]!.content)).toBe(expected);

    // The web page's message view lists it, and its download is the same file.
    const detail = await getJson<{ view: { attachments: AttachmentView[] } }>(`${state.webUrl}api/message/${encodeURIComponent(entry.file)}`);
    expect(detail.view.attachments).toEqual([
      { index: 0, filename: FILE_NAME, contentType: 'application/pdf', size: FILE_BYTES, disposition: 'attachment' },
    ]);
    const download = await fetch(`${state.webUrl}message/${encodeURIComponent(entry.file)}/attachments/0`);
    expect(download.status).toBe(200);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(expected);

    // Delivered, nothing dead-lettered, and the job's object deleted from the claim-check bucket.
    const stats = await getJson<ActivityStats>(`${state.webUrl}api/stats`);
    expect(stats).toMatchObject({ received: 1, delivered: 1, deadLettered: 0, stored: 1, dlq: 0 });
    const s3 = new S3Client({
      endpoint: state.s3Endpoint ?? state.sqsEndpoint,
      region: state.region,
      credentials: state.credentials,
      forcePathStyle: true,
    });
    try {
      const objects = await eventually(
        async () => {
          const listed = await s3.send(new ListObjectsV2Command({ Bucket: state.payloadBucket, Prefix: 'payloads/' }));
          return (listed.KeyCount ?? 0) === 0 ? listed : undefined;
        },
        10_000,
        'the claim check deleted',
      );
      expect(objects.Contents ?? []).toEqual([]);
    } finally {
      s3.destroy();
    }
  }, 240_000);
});

describe("recipients outside cdk.json dev's allowedRecipients (example.com), as the dev stack treats them", () => {
  it('leaves them out: a job for them alone is suppressed (not sent, not dead-lettered), a mixed one goes to the others', async () => {
    const before = await getJson<ActivityStats>(`${state.webUrl}api/stats`);
    const outside = await mailQueue(['send', '--id', 'n-outside', '--to', 'dan@example.org', '--subject', 'Outside', '--text', 'x'], home);
    const mixed = await mailQueue(
      ['send', '--id', 'n-mixed', '--to', 'ann@example.com', '--to', 'eve@example.net', '--subject', 'Mixed', '--text', 'x'],
      home,
    );
    expect([outside.code, mixed.code]).toEqual([0, 0]);

    const jobs = await eventually(
      async () => {
        const views = await getJson<JobView[]>(`${state.webUrl}api/jobs`);
        const found = ['n-outside', 'n-mixed'].map((id) => views.find((job) => job.jobId === id));
        return found.every((job) => job !== undefined) ? found : undefined;
      },
      30_000,
      'both jobs handled',
    );
    expect(jobs[0]).toMatchObject({
      outcome: 'suppressed',
      detail: 'not sent: every recipient (1) is outside allowedRecipients (MAIL_ALLOWED_RECIPIENTS): example.org',
    });
    expect(jobs[1]).toMatchObject({ outcome: 'delivered', detail: '1 recipient(s) took it; 1 suppressed, outside allowedRecipients: example.net' });
    const messages = await getJson<MailboxEntry[]>(`${state.webUrl}api/messages`);
    expect(messages.filter((entry) => ['Outside', 'Mixed'].includes(entry.subject)).map((entry) => [entry.subject, entry.to])).toEqual([
      ['Mixed', ['ann@example.com']],
    ]);
    const after = await getJson<ActivityStats>(`${state.webUrl}api/stats`);
    expect([after.deadLettered - before.deadLettered, after.dlq]).toEqual([0, 0]);
    expect(run.output().stdout).toMatch(
      /^\d\d:\d\d:\d\d suppressed +\S+ {2}job n-outside: not sent: every recipient \(1\) is outside allowedRecipients/m,
    );
  }, 60_000);
});
