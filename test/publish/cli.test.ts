import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentJobId, parseMailJob, type MailJobInput } from '../../lib/message/index.js';
import { startFauxqs, type Fauxqs } from './fauxqs.js';

const root = join(import.meta.dirname, '../..');
let sqs: Fauxqs;
let dir: string;

beforeAll(async () => {
  sqs = await startFauxqs();
  dir = await mkdtemp(join(tmpdir(), 'mail-queue-cli-'));
});
afterAll(async () => {
  await sqs.close();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mail-queue` as its own process (Node 24 + tsx), the way `npm run mail-queue` does. */
function mailQueue(args: string[], options: { env?: Record<string, string>; stdin?: string | Buffer; command?: string[] } = {}): Promise<Run> {
  const { MAIL_QUEUE_URL: _a, QUEUE_URL: _b, AWS_ENDPOINT_URL_SQS: _c, AWS_ENDPOINT_URL: _d, AWS_PROFILE: _e, ...inherited } = process.env;
  const env = { ...inherited, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', NO_COLOR: '1', ...options.env };
  const [command, ...prefix] = options.command ?? [process.execPath, '--import', 'tsx', 'lib/publish/cli.ts'];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, [...prefix, ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

const bodies = async (queueUrl: string) => (await sqs.drain(queueUrl)).map((m) => JSON.parse(m.Body!) as MailJobInput & Record<string, unknown>);

describe('mail-queue --help', () => {
  it('explains the commands, the environment and the exit status', async () => {
    const run = await mailQueue(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/send \[options\]\s+publish one job/);
    expect(run.stdout).toMatch(/bulk \[options\] \[file\]\s+publish many jobs from NDJSON/);
    expect(run.stdout).toContain('MAIL_QUEUE_URL');
    expect(run.stdout).toContain('AWS_ENDPOINT_URL_SQS');
    expect(run.stdout).toMatch(/Exit status:\n\s+0\s+every job was published/);
  });

  it('works through the npm script', async () => {
    const run = await mailQueue(['--silent', 'run', 'mail-queue', '--', 'send', '--help'], { command: ['npm'] });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: mail-queue send \[options\]/);
    expect(run.stdout).toContain('--inline <cid=path>');
  });
});

describe('mail-queue send', () => {
  it('publishes a job built from flags, files attached', async () => {
    const queueUrl = await sqs.createQueue('cli');
    const attachment = join(dir, 'report.pdf');
    await writeFile(attachment, Buffer.from('%PDF-1.7 fake'));
    await writeFile(join(dir, 'body.html'), '<p>Hello <img src="cid:logo@shop"></p>');
    await writeFile(join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const run = await mailQueue([
      'send',
      '--queue-url',
      queueUrl,
      '--endpoint',
      sqs.endpoint,
      '--id',
      'cli-1',
      '--from',
      'Shop <shop@example.com>',
      '--to',
      'ann@example.com',
      '--to',
      'Bob <bob@example.com>',
      '--cc',
      'cy@example.com',
      '--bcc',
      'audit@example.com',
      '--reply-to',
      'help@example.com',
      '--subject',
      'Grüße',
      '--text',
      'Hi',
      '--html-file',
      join(dir, 'body.html'),
      '--header',
      'X-Campaign: spring',
      '--attach',
      attachment,
      '--inline',
      `logo@shop=${join(dir, 'logo.png')}`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [job, ...rest] = await bodies(queueUrl);
    expect(rest).toEqual([]);
    expect(run.stdout).toMatch(/^sent job cli-1 as SQS message [0-9a-f-]{36}\n$/);
    expect(job).toEqual({
      v: 1,
      id: 'cli-1',
      from: 'Shop <shop@example.com>',
      to: ['ann@example.com', 'Bob <bob@example.com>'],
      cc: ['cy@example.com'],
      bcc: ['audit@example.com'],
      replyTo: ['help@example.com'],
      subject: 'Grüße',
      text: 'Hi',
      html: '<p>Hello <img src="cid:logo@shop"></p>',
      headers: { 'X-Campaign': 'spring' },
      attachments: [
        { filename: 'report.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.7 fake').toString('base64') },
        { filename: 'logo.png', contentType: 'image/png', content: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'), contentId: 'logo@shop' },
      ],
    });
  });

  it('reads a job from --file, the queue from MAIL_QUEUE_URL and the endpoint from AWS_ENDPOINT_URL_SQS', async () => {
    const queueUrl = await sqs.createQueue('cli');
    const job = { v: 1, id: 'file-1', to: 'ann@example.com', subject: 'From a file', text: 'Hi' };
    await writeFile(join(dir, 'job.json'), JSON.stringify(job));
    const run = await mailQueue(['send', '--file', join(dir, 'job.json')], { env: { MAIL_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL_SQS: sqs.endpoint } });
    expect(run.code).toBe(0);
    expect(await bodies(queueUrl)).toEqual([job]);
  });

  it('takes QUEUE_URL when MAIL_QUEUE_URL is not set, and a job from stdin; a job without id is sent with its derived id, printed', async () => {
    const queueUrl = await sqs.createQueue('cli');
    const job = { v: 1, to: 'ann@example.com', subject: 'stdin', text: 'Hi' } as const;
    const run = await mailQueue(['send', '--file', '-', '--endpoint', sqs.endpoint], { env: { QUEUE_URL: queueUrl }, stdin: JSON.stringify(job) });
    expect(run.code).toBe(0);
    const id = contentJobId(parseMailJob(job));
    expect(run.stdout.slice(0, run.stdout.lastIndexOf(' '))).toBe(`sent job ${id} as SQS message`);
    expect(await bodies(queueUrl)).toEqual([{ ...job, id }]);
  });

  it('refuses an invalid job with every reason, exit 1, nothing sent', async () => {
    const queueUrl = await sqs.createQueue('cli');
    const run = await mailQueue([
      'send',
      '--queue-url',
      queueUrl,
      '--endpoint',
      sqs.endpoint,
      '--to',
      'ann@example.com, bob@example.com',
      '--header',
      'Bcc: spy@example.com',
      '--text',
      'x',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      [
        'mail-queue: the job was refused and not sent:',
        '  to: "ann@example.com, bob@example.com" contains several addresses: give them as a list',
        '  subject: is required',
        '  headers[0]: "Bcc" is set by the product from the job\'s own fields and cannot be given in headers',
        '',
      ].join('\n'),
    );
    expect(await bodies(queueUrl)).toEqual([]);
  });

  it('prints the job and sends nothing with --dry-run', async () => {
    const run = await mailQueue(['send', '--dry-run', '--to', 'ann@example.com', '--subject', 's', '--text', 't']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ v: 1, to: 'ann@example.com', subject: 's', text: 't' });
  });

  it('exits 2 without a queue URL', async () => {
    const run = await mailQueue(['send', '--to', 'ann@example.com', '--subject', 's', '--text', 't']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('mail-queue: no queue URL: give --queue-url or --stack, or set MAIL_QUEUE_URL (or start the local run with npm start)\n');
  });

  it('exits 2 on an unknown option, a malformed --header or a missing file', async () => {
    const unknown = await mailQueue(['send', '--subjet', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown option '--subjet'");
    const header = await mailQueue(['send', '--to', 'a@example.com', '--subject', 's', '--text', 't', '--header', 'no colon']);
    expect(header.code).toBe(2);
    expect(header.stderr).toBe('mail-queue: --header "no colon" must look like "Name: value"\n');
    const missing = await mailQueue(['send', '--file', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^mail-queue: ENOENT/);
  });

  it('exits 1 when SQS does not take the job', async () => {
    const run = await mailQueue([
      'send',
      '--queue-url',
      `${sqs.endpoint}/000000000000/missing`,
      '--endpoint',
      sqs.endpoint,
      '--to',
      'a@example.com',
      '--subject',
      's',
      '--text',
      't',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^mail-queue: SQS did not take the job: (QueueDoesNotExist|AWS\.SimpleQueueService\.NonExistentQueue): /);
  });
});

describe('mail-queue bulk', () => {
  it('publishes valid lines, refuses the others with line numbers, exit 1', async () => {
    const queueUrl = await sqs.createQueue('cli');
    const good = (n: number) => JSON.stringify({ v: 1, id: `bulk-${n}`, to: `r${n}@example.com`, subject: `s${n}`, text: 't' });
    const input = Buffer.concat([
      Buffer.from(`${good(1)}\n`),
      Buffer.from('{"v":1,"id":"bad-1","to":"nobody","subject":"s","text":"t"}\n'),
      Buffer.from('\n'),
      Buffer.from(`${good(2)}\r\n`),
      Buffer.from('{not json\n'),
      Buffer.from('{"v":1,"to":"a@example.com","subject":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","text":"t"}\n'),
      Buffer.from('[1,2]\n'),
      Buffer.from(good(3)),
    ]);
    await writeFile(join(dir, 'jobs.ndjson'), input);
    const run = await mailQueue(['bulk', join(dir, 'jobs.ndjson'), '--queue-url', queueUrl, '--endpoint', sqs.endpoint]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      [
        'sent 3 of 7 jobs, refused 4, failed 0',
        'refused (invalid, not sent):',
        '  line 2 (bad-1): to: "nobody" has no \'@\'',
        `  line 5: is not valid JSON (${jsonError('{not json')})`,
        '  line 6: is not valid UTF-8',
        '  line 7: a mail job must be a JSON object, not a list',
        '',
      ].join('\n'),
    );
    expect((await bodies(queueUrl)).map((j) => j.id).sort()).toEqual(['bulk-1', 'bulk-2', 'bulk-3']);
  });

  it('reads stdin, sends 25 jobs, shows no progress bar on a pipe, exit 0', async () => {
    const queueUrl = await sqs.createQueue('cli');
    const lines = Array.from({ length: 25 }, (_, n) => JSON.stringify({ v: 1, id: `p-${n}`, to: 'a@example.com', subject: 's', text: 't' }));
    const run = await mailQueue(['bulk', '--endpoint', sqs.endpoint], { env: { MAIL_QUEUE_URL: queueUrl }, stdin: `${lines.join('\n')}\n` });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('sent 25 of 25 jobs, refused 0, failed 0\n');
    expect(await bodies(queueUrl)).toHaveLength(25);
  });

  it('reports jobs SQS did not take as failed, exit 1', async () => {
    const queueUrl = await sqs.createQueue('cli-small', { MaximumMessageSize: '1024' });
    const small = JSON.stringify({ v: 1, id: 'small', to: 'a@example.com', subject: 's', text: 't' });
    const large = JSON.stringify({ v: 1, id: 'large', to: 'a@example.com', subject: 's', text: 'x'.repeat(2000) });
    const run = await mailQueue(['bulk', '-', '--queue-url', queueUrl, '--endpoint', sqs.endpoint], { stdin: `${small}\n${large}\n` });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^sent 1 of 2 jobs, refused 0, failed 1\nfailed \(SQS did not take them\):\n {2}line 2 \(large\): InvalidParameterValue: .*shorter than 1024 bytes.*\n$/,
    );
    expect((await bodies(queueUrl)).map((j) => j.id)).toEqual(['small']);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}
