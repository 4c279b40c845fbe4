/**
 * `npm start` as a newcomer uses it: the local run started as its own process (on free ports and a
 * temporary state folder), jobs published with the `mail-queue` CLI from "a second terminal"
 * (which finds the queue through `.local/state.json`), then the mailbox, the dead-letter queue, the
 * live view and the web page checked; Ctrl-C; a second run while the first is running, and after.
 */
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { access, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRunState } from '../../lib/publish/localRun.js';
import type { ActivityStats, JobView } from '../../lib/local/RunActivity.js';
import type { MailboxEntry } from '../../lib/local/Mailbox.js';
import { eventually, interrupt, mailQueue, spawnLocalRun, whenReady } from './localRunProcess.js';
import type { Finished, LocalRunProcess } from './localRunProcess.js';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let home: string;
let stateDir: string;
let first: LocalRunProcess;
let state: LocalRunState;
let firstCa: string;
const sent = new Map<string, string>();

async function getJson<T>(url: string): Promise<T> {
  const reply = await fetch(url);
  if (!reply.ok) throw new Error(`${url}: HTTP ${reply.status}`);
  return (await reply.json()) as T;
}

function sqsOf(local: LocalRunState): SQSClient {
  return new SQSClient({ endpoint: local.sqsEndpoint, region: local.region, credentials: local.credentials });
}

beforeAll(async () => {
  // The "project folder" of the second terminal: mail-queue looks for .local/state.json there.
  home = await mkdtemp(path.join(tmpdir(), 'local-run-'));
  stateDir = path.join(home, '.local');
  first = spawnLocalRun(['--sqs-port', '0', '--smtp-port', '0', '--web-port', '0', '--state-dir', stateDir]);
  state = await whenReady(first, stateDir);
  firstCa = await readFile(path.join(stateDir, 'tls', 'ca.pem'), 'utf8');
});

afterAll(async () => {
  if ((first as LocalRunProcess | undefined) !== undefined) await interrupt(first); // unset when beforeAll failed
  await rm(home, { recursive: true, force: true });
});

describe('npm start, then jobs from a second terminal', () => {
  it('prints where everything is, listening on 127.0.0.1 only', () => {
    const { stdout } = first.output();
    expect(stdout).toContain(`SQS      ${state.sqsEndpoint}`);
    expect(stdout).toContain(`web      ${state.webUrl}`);
    expect(stdout).toContain(`${stateDir}/mail/`);
    expect(stdout).toContain('made the local certificate authority');
    expect(state.sqsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(state.webUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(state.pid).toBe(first.child.pid);
  });

  it('delivers, refuses, retries and dead-letters the jobs mail-queue publishes, as the live view and the page count them', async () => {
    const jobs: [string, string[]][] = [
      ['t-delivered', ['--to', 'Ann <ann@example.com>', '--subject', 'Hello Ann', '--text', 'Hi Ann']],
      ['t-partly', ['--to', 'bob@example.com', '--to', 'refuse@example.com', '--subject', 'Partly', '--text', 'one refuses']],
      ['t-later', ['--to', 'later@example.com', '--subject', 'Second try', '--text', '450 first']],
      ['t-refused', ['--to', 'refuse+for-good@example.com', '--subject', 'Refused', '--text', 'nobody']],
    ];
    const runs = await Promise.all(jobs.map(([id, flags]) => mailQueue(['send', '--id', id, ...flags], home)));
    runs.forEach((run, index) => {
      expect(run.stderr).toContain(`using the local run's queue (npm start, pid ${state.pid}) ${state.queueUrl}`);
      const match = /^sent job (\S+) as SQS message (\S+)\n$/.exec(run.stdout);
      expect(match?.[1]).toBe(jobs[index]![0]);
      sent.set(match![1]!, match![2]!);
      expect(run.code).toBe(0);
    });
    // A job the producer would refuse, written to the queue by hand: the poison one.
    const sqs = sqsOf(state);
    const poison = await sqs.send(new SendMessageCommand({ QueueUrl: state.queueUrl, MessageBody: '{"v":1,"to":"nobody","subject":"x"}' }));
    sent.set('poison', poison.MessageId!);

    // later@ refuses the first time; the job comes back after the handler's backoff (15 to 30 s).
    const stats = await eventually(
      async () => {
        const now = await getJson<ActivityStats>(`${state.webUrl}api/stats`);
        return now.delivered === 3 && now.dlq === 2 && now.queue.ready + now.queue.inFlight + now.queue.delayed === 0 ? now : undefined;
      },
      45_000,
      'every job settled',
    );
    expect(stats).toEqual({
      received: 6,
      delivered: 3,
      retried: 1,
      deadLettered: 2,
      reEnqueued: 0,
      stored: 3,
      queue: { ready: 0, inFlight: 0, delayed: 0 },
      dlq: 2,
    });

    const jobViews = await getJson<JobView[]>(`${state.webUrl}api/jobs`);
    const byId = new Map(jobViews.map((job) => [job.messageId, job]));
    expect(byId.get(sent.get('t-delivered')!)).toMatchObject({
      jobId: 't-delivered',
      outcome: 'delivered',
      receives: 1,
      recipients: ['ann@example.com'],
      subject: 'Hello Ann',
    });
    expect(byId.get(sent.get('t-partly')!)).toMatchObject({
      outcome: 'partly refused',
      receives: 1,
      detail: '1 accepted, refused: 550 at example.com',
    });
    expect(byId.get(sent.get('t-later')!)).toMatchObject({ outcome: 'delivered', receives: 2 });
    expect(byId.get(sent.get('t-refused')!)).toMatchObject({ outcome: 'dead-lettered', receives: 1 });
    expect(byId.get(sent.get('poison')!)).toMatchObject({ outcome: 'dead-lettered', receives: 1 });
    expect(jobViews).toHaveLength(5);

    // The live view: one line per event with the SQS message id, and the counts.
    const { stdout } = first.output();
    const line = (id: string, kind: string): RegExp => new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${kind} +${sent.get(id)}  `, 'm');
    expect(stdout).toMatch(line('t-delivered', 'delivered'));
    expect(stdout).toMatch(line('t-partly', 'partly refused'));
    expect(stdout).toMatch(line('t-later', 'retry'));
    expect(stdout).toMatch(line('t-later', 'delivered'));
    expect(stdout).toMatch(line('t-refused', 'dead-lettered'));
    expect(stdout).toMatch(line('poison', 'dead-lettered'));
    const counts = stdout.split('\n').filter((text) => text.startsWith('counts: '));
    expect(counts.at(-1)).toMatch(/^counts: received 6 · delivered 3 · retried 1 · dead-lettered 2 · re-enqueued 0 │/);
  }, 60_000);

  it('keeps each delivered message as an .eml file, with an index of envelopes and refusals', async () => {
    const mailDir = path.join(stateDir, 'mail');
    const files = (await readdir(mailDir)).filter((name) => name.endsWith('.eml')).sort();
    expect(files).toHaveLength(3);
    const messages = await getJson<MailboxEntry[]>(`${state.webUrl}api/messages`);
    const bySubject = new Map(messages.map((entry) => [entry.subject, entry]));
    expect([...bySubject.keys()].sort()).toEqual(['Hello Ann', 'Partly', 'Second try']);
    expect(bySubject.get('Hello Ann')).toMatchObject({
      from: 'noreply@outbound-mail.test',
      to: ['ann@example.com'],
      refused: [],
      outcome: 'delivered',
      messageId: '<t-delivered@outbound-mail.test>',
    });
    expect(bySubject.get('Partly')).toMatchObject({
      to: ['bob@example.com'],
      refused: [{ address: 'refuse@example.com', code: 550 }],
      outcome: 'partly refused',
    });
    expect(bySubject.get('Second try')).toMatchObject({ to: ['later@example.com'], refused: [], outcome: 'delivered' });
    const raw = await readFile(path.join(mailDir, bySubject.get('Hello Ann')!.file), 'utf8');
    expect(raw).toMatch(/^Subject: Hello Ann\r$/m);
    expect(raw).toMatch(/^To: Ann <ann@example\.com>\r$/m);
    expect(raw).toMatch(/^Message-ID: <t-delivered@outbound-mail\.test>\r$/m);
    expect(raw).toContain('Hi Ann');
    const index = (await readFile(path.join(mailDir, 'index.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((text) => JSON.parse(text) as MailboxEntry);
    expect(index.map((entry) => entry.file).sort()).toEqual(files);
  });

  it('has the permanent failures in the dead-letter queue with their reasons', async () => {
    const sqs = sqsOf(state);
    const reply = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: state.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }),
    );
    const dead = new Map((reply.Messages ?? []).map((message) => [message.MessageAttributes?.['SourceMessageId']?.StringValue, message]));
    expect(dead.size).toBe(2);
    const refused = dead.get(sent.get('t-refused'));
    expect(JSON.parse(refused!.Body!)).toMatchObject({ id: 't-refused', to: 'refuse+for-good@example.com' });
    expect(refused!.MessageAttributes?.['FailurePhase']?.StringValue).toBe('rcpt');
    expect(refused!.MessageAttributes?.['FailureCode']?.StringValue).toBe('550');
    const poison = dead.get(sent.get('poison'));
    expect(poison!.Body).toBe('{"v":1,"to":"nobody","subject":"x"}');
    expect(poison!.MessageAttributes?.['FailurePhase']?.StringValue).toBe('job');
  });

  it('shows the messages on its web page in a real headless browser, with their raw source', async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
      const page = await browser.newPage();
      const response = await page.goto(state.webUrl);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('outbound-mail local run');
      const rows = page.locator('#list-mailbox tbody tr');
      await rows.first().waitFor();
      expect(await page.locator('#count-delivered b').textContent()).toBe('3');
      expect(await page.locator('#count-dead-lettered b').textContent()).toBe('2');
      expect(await page.locator('#count-dlq b').textContent()).toBe('2');
      expect(await rows.count()).toBe(3);
      const partly = rows.filter({ hasText: 'Partly' });
      expect(await partly.locator('td').nth(2).textContent()).toBe('bob@example.com refuse@example.com (550)');
      expect(await partly.locator('td').nth(3).textContent()).toBe('partly refused');
      await page.locator('#tab-jobs').click();
      await page.locator('#list-jobs tbody tr').first().waitFor();
      expect(await page.locator('#list-jobs tbody tr').count()).toBe(5);
      expect(await page.locator(`#list-jobs a[href="#job/${sent.get('poison')}"]`).count()).toBe(1);

      await page.locator('#tab-mailbox').click();
      await rows.filter({ hasText: 'Hello Ann' }).locator('a').click();
      await page.locator('#show-raw').click();
      await expect.poll(() => page.locator('#raw-source').textContent()).toContain('Subject: Hello Ann');
      expect(await page.locator('#raw-source').textContent()).toContain('Message-ID: <t-delivered@outbound-mail.test>');
      expect(Buffer.byteLength(await (await fetch(state.webUrl)).text())).toBeLessThan(16_384);
    } finally {
      await browser?.close();
    }
  });
});

describe('a second start', () => {
  it('fails at once, naming the flag, while the first still holds the port', async () => {
    const second = spawnLocalRun(['--sqs-port', new URL(state.sqsEndpoint).port, '--smtp-port', '0', '--web-port', '0', '--state-dir', stateDir]);
    const finished = await second.exited;
    expect(finished.code).toBe(1);
    expect(finished.stderr).toContain(`npm start: the SQS port ${new URL(state.sqsEndpoint).port} on 127.0.0.1 is in use`);
    expect(finished.stderr).toContain('pick another port with --sqs-port <port>');
  });

  it('fails on free ports too, naming the other run, when it would share its state folder', async () => {
    const second = spawnLocalRun(['--sqs-port', '0', '--smtp-port', '0', '--web-port', '0', '--state-dir', stateDir]);
    const finished = await second.exited;
    expect(finished.code).toBe(1);
    expect(finished.stderr).toContain(`another local run (pid ${state.pid}, web page ${state.webUrl}) is using ${stateDir}`);
    // The first one is untouched.
    expect((await getJson<ActivityStats>(`${state.webUrl}api/stats`)).received).toBe(6);
  });

  it('after Ctrl-C reuses the ports, the certificate and the mailbox the first one left', async () => {
    const stopped: Finished = await interrupt(first);
    expect(stopped.code).toBe(0);
    const summary = JSON.parse(/^summary (.*)$/m.exec(stopped.stdout)![1]!) as Record<string, unknown>;
    expect(summary).toMatchObject({
      received: 6,
      delivered: 3,
      retried: 1,
      deadLettered: 2,
      reEnqueued: 0,
      leftInQueue: 0,
      leftInDlq: 2,
      mailbox: 3,
    });
    await expect(access(path.join(stateDir, 'state.json'))).rejects.toThrow();
    // Without a running local run, mail-queue says how to give it a queue.
    const orphan = await mailQueue(['send', '--to', 'ann@example.com', '--subject', 's', '--text', 't'], home);
    expect(orphan.code).toBe(2);
    expect(orphan.stderr).toContain('no queue URL');

    const ports = { sqs: new URL(state.sqsEndpoint).port, smtp: String(state.smtpPort), web: new URL(state.webUrl).port };
    const again = spawnLocalRun(['--sqs-port', ports.sqs, '--smtp-port', ports.smtp, '--web-port', ports.web, '--state-dir', stateDir]);
    try {
      const next = await whenReady(again, stateDir);
      expect(next.pid).toBe(again.child.pid);
      expect(next.webUrl).toBe(state.webUrl);
      expect(again.output().stdout).not.toContain('made the local certificate authority');
      expect(await readFile(path.join(stateDir, 'tls', 'ca.pem'), 'utf8')).toBe(firstCa);
      expect((await getJson<MailboxEntry[]>(`${next.webUrl}api/messages`)).length).toBe(3);
      const run = await mailQueue(['send', '--to', 'dan@example.com', '--subject', 'After a restart', '--text', 'still works'], home);
      expect(run.code).toBe(0);
      await eventually(
        async () => ((await getJson<ActivityStats>(`${next.webUrl}api/stats`)).delivered === 1 ? true : undefined),
        15_000,
        'the job after the restart',
      );
    } finally {
      const last = await interrupt(again);
      expect(last.code).toBe(0);
    }
  }, 40_000);
});

describe('the state folder', () => {
  it('keeps the SMTP password and the private keys readable by their owner only', async () => {
    for (const file of ['smtp.json', 'tls/ca-key.pem', 'tls/server-key.pem']) {
      expect((await stat(path.join(stateDir, file))).mode & 0o777, file).toBe(0o600);
    }
  });
});
