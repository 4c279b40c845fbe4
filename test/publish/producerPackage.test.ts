/**
 * The producer package (packages/producer, `@outbound-mail/producer`) as another service gets it:
 * packed with `npm pack` (which builds it), installed from the tarball into a fresh project (its
 * two dependencies from the registry or npm's cache), and used from there: an ESM script publishes
 * a job to the SQS emulator on the machine's own Node (20 here) and on this one, and a TypeScript
 * file is type-checked against the installed declarations.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSqsEmulator } from '../support/sqsQueues.js';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const PRODUCER = path.join(REPO, 'packages/producer');
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');

/** What the package holds, exactly: the producer entry, the job checks it imports, the JSON Schema. */
const PACKED_FILES = [
  'README.md',
  'dist/mail-job.v1.schema.json',
  ...[
    'InvalidJobError',
    'RawMessageScanner',
    'StreamedRawMessage',
    'address',
    'attachmentSchema',
    'characters',
    'contentJobId',
    'fieldSchemas',
    'headerRules',
    'jobPath',
    'jobSchema',
    'jobShape',
    'parseMailJob',
    'payloadPointer',
    'producerFieldSchemas',
    'queueBody',
    'rawMessage',
    'types',
  ].flatMap((name) => [`dist/message/${name}.d.ts`, `dist/message/${name}.js`]),
  ...['JobWithFiles', 'PublishError', 'createMailQueue', 'index', 'payloadOffload', 'queueMessage', 'types'].flatMap((name) => [
    `dist/publish/${name}.d.ts`,
    `dist/publish/${name}.js`,
  ]),
  'dist/smtp/types.d.ts',
  'dist/smtp/types.js',
  'package.json',
].sort();

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

/** `npm pack --json` in the producer's folder, with extra arguments. */
async function pack(...args: string[]): Promise<PackResult> {
  const { stdout } = await run('npm', ['pack', '--json', ...args], { cwd: PRODUCER, maxBuffer: 16 * 1024 * 1024 });
  // Lifecycle scripts may print before the JSON; the JSON is the last thing npm writes.
  const [result] = JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as PackResult[];
  if (result === undefined) throw new Error(`npm pack printed no result: ${stdout}`);
  return result;
}

/** The first `node` on PATH outside a node_modules/.bin: the machine's own Node (20 on the machines this project meets). */
async function machineNode(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const candidate = path.join(dir, 'node');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('no node on PATH outside node_modules');
}

const JOB = { v: 1, id: 'order-1001', to: ['ann@example.com', { name: 'Bo', address: 'bo@example.com' }], subject: 'Your order', text: 'Thanks!' };

const PUBLISH_SCRIPT = `
import { createMailQueue, InvalidJobError } from '@outbound-mail/producer';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const queue = createMailQueue({ queueUrl: process.env.QUEUE_URL });
let refused;
try {
  await queue.send({ v: 1, to: 'x', subject: 's', text: 't' });
} catch (error) {
  refused = error instanceof InvalidJobError ? error.issues : String(error);
}
const published = await queue.send(JSON.parse(process.env.JOB));
const schemaFile = createRequire(import.meta.url).resolve('@outbound-mail/producer/mail-job.v1.schema.json');
const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
console.log(JSON.stringify({ node: process.version, published, refused, schemaId: schema.$id }));
`;

const CONSUMER_TS = `
import { createMailQueue, InvalidJobError, PublishError, SQS_MAX_BYTES, type MailJobInput, type PublishResult } from '@outbound-mail/producer';

const queue = createMailQueue({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/mail.fifo', messageGroupId: (job) => job.id ?? 'mail' });
const job: MailJobInput = { v: 1, id: 'order-1', to: ['ann@example.com', { name: 'Bo', address: 'bo@example.com' }], subject: 's', text: 't' };
const results: PublishResult[] = await queue.sendBatch([job]);
for (const result of results) {
  if (result.ok) console.log(result.messageId satisfies string, result.sequenceNumber satisfies string | undefined);
  else console.log(result.error satisfies PublishError, result.error.code, result.error.senderFault);
}
const limit: number = SQS_MAX_BYTES;
// @ts-expect-error: "subjet" is not a field of a mail job
const typo: MailJobInput = { v: 1, to: 'a@example.com', subjet: 's', text: 't' };
// @ts-expect-error: there is no version 2
const v2: MailJobInput = { v: 2, to: 'a@example.com', subject: 's', text: 't' };
export { InvalidJobError, limit, typo, v2 };
`;

describe('the producer package, packed and installed into another project', () => {
  const emulator = useSqsEmulator();
  let project = '';
  let packed: PackResult;

  beforeAll(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'producer-consumer-'));
    packed = await pack('--pack-destination', project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${packed.filename}`], { cwd: project });
  }, 300_000);

  afterAll(async () => {
    if (project !== '') await rm(project, { recursive: true, force: true });
  });

  it('packs the producer and nothing else, under 60 kB (46 kB with the claim-check modules)', () => {
    expect(packed.files.map((file) => file.path).sort()).toEqual(PACKED_FILES);
    expect(packed.size).toBeLessThan(60_000);
  });

  it('says the same in a dry run, and depends on the SQS client and valibot only, on Node 20 or later', async () => {
    const dry = await pack('--dry-run', '--ignore-scripts');
    expect(dry.files.map((file) => file.path).sort()).toEqual(PACKED_FILES);
    const manifest = JSON.parse(await readFile(path.join(project, 'node_modules/@outbound-mail/producer/package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const root = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ '@aws-sdk/client-sqs': root.dependencies['@aws-sdk/client-sqs'], valibot: root.dependencies.valibot });
    // S3 (the claim check of jobs over 256 KiB) only when the producer installs it: loaded on the first offload.
    expect(manifest.peerDependencies).toEqual({ '@aws-sdk/client-s3': '^3.1175.0' });
    expect(manifest.peerDependenciesMeta).toEqual({ '@aws-sdk/client-s3': { optional: true } });
    expect(manifest.engines).toEqual({ node: '>=20' });
    expect(manifest.private).toBeUndefined();
  });

  it('ships the committed JSON Schema', async () => {
    const shipped = await readFile(path.join(project, 'node_modules/@outbound-mail/producer/dist/mail-job.v1.schema.json'), 'utf8');
    expect(shipped).toBe(await readFile(path.join(REPO, 'schema/mail-job.v1.schema.json'), 'utf8'));
  });

  it.each([
    ['the machine’s own Node', machineNode],
    ['this Node', () => Promise.resolve(process.execPath)],
  ])('publishes a job from an ESM script on %s, checks jobs before sending', async (_which, node) => {
    const queues = await emulator().createMailQueues();
    await writeFile(path.join(project, 'publish.mjs'), PUBLISH_SCRIPT);
    const { stdout } = await run(await node(), ['publish.mjs'], {
      cwd: project,
      env: {
        PATH: process.env.PATH,
        QUEUE_URL: queues.queueUrl,
        JOB: JSON.stringify(JOB),
        AWS_ENDPOINT_URL_SQS: emulator().endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    });
    const report = JSON.parse(stdout) as {
      node: string;
      published: { ok: boolean; messageId: string; jobId: string };
      refused: unknown;
      schemaId: string;
    };
    expect(Number(/^v(\d+)\./.exec(report.node)?.[1])).toBeGreaterThanOrEqual(20);
    expect(report.refused).toEqual([{ path: 'to', message: '"x" has no \'@\'' }]);
    expect(report.schemaId).toBe('urn:outbound-mail:mail-job:v1');
    expect(report.published).toMatchObject({ ok: true, jobId: 'order-1001', attempts: 1 });

    const received = await emulator().sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(received.Messages?.map((message) => ({ id: message.MessageId, body: message.Body }))).toEqual([
      { id: report.published.messageId, body: JSON.stringify(JOB) },
    ]);
  });

  it('type-checks a TypeScript consumer against the installed declarations (this repository’s tsc)', async () => {
    await writeFile(path.join(project, 'consumer.ts'), CONSUMER_TS);
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          // Our declarations and the SDK's are checked too, against @types/node as a Node service has it.
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [path.join(REPO, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const result = await run(process.execPath, [TSC, '-p', project]).catch((error: unknown) => error as { stdout: string; code: number });
    expect(result.stdout).toBe('');
  }, 120_000);
});
