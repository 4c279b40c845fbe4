/**
 * The deployed code itself: `cdk synth` builds the send-mail bundle once for this file, and a
 * batch runs through that very `index.mjs` (imported in an execution environment of its own,
 * with the function's environment variables) against the SQS emulator and a real SMTP server.
 * What the DLQ and the logs say must be what the source says: class names survive minifying.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SEND_MAIL_BUNDLE, SEND_MAIL_HANDLER } from '../../infra/sendMailBundle.js';
import { FunctionInstance } from '../../lib/local/FunctionInstance.js';
import type { InvocationResult } from '../../lib/local/FunctionInstance.js';
import { startDynamoEmulator } from '../support/dynamoEmulator.js';
import type { DynamoEmulator } from '../support/dynamoEmulator.js';
import { mailJob } from '../support/sendMailHarness.js';
import { sqsEvent } from '../support/sqsEvents.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { startSqsEmulator } from '../support/sqsQueues.js';
import type { HeldMessage, MailQueues, SqsEmulator } from '../support/sqsQueues.js';

let workDir: string;
let bundleFile: string;
let emulator: SqsEmulator;
let server: SmtpServerHandle;
let caFile: string;
let dynamo: DynamoEmulator;

/** `npm run synth` for one environment, as a deployer runs it (Node 24 and the CLI from node_modules, offline). */
function synth(outdir: string): Promise<{ code: number | null; stderr: string }> {
  const credentials = new Set(['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !credentials.has(name))),
    PATH: `${path.join(PROJECT_ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env['PATH'] ?? ''}`,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'synth', '--', '-c', 'env=dev', '--output', outdir], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'deployed-bundle-'));
  const outdir = path.join(workDir, 'cdk.out');
  const [synthesis, startedEmulator, startedServer, startedDynamo] = await Promise.all([
    synth(outdir),
    startSqsEmulator(),
    startSmtpServer({ onRcptTo: (to) => (to.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : undefined) }),
    startDynamoEmulator(),
  ]);
  emulator = startedEmulator;
  server = startedServer;
  dynamo = startedDynamo;
  expect(synthesis.code, synthesis.stderr).toBe(0);
  const assets = (await readdir(outdir)).filter((name) => name.startsWith('asset.'));
  expect(assets).toHaveLength(1);
  bundleFile = path.join(outdir, assets[0]!, SEND_MAIL_BUNDLE.outputFile);
  caFile = path.join(workDir, 'relay-ca.pem');
  await writeFile(caFile, server.ca);
}, 180_000);

afterAll(async () => {
  // Whatever beforeAll got to start, even if the synth failed.
  const started: (SqsEmulator | SmtpServerHandle | DynamoEmulator | undefined)[] = [emulator, server, dynamo];
  await Promise.all(started.map((handle) => handle?.stop() ?? Promise.resolve()));
  await rm(workDir, { recursive: true, force: true });
});

/** An execution environment of the synthesised bundle, configured as the stack configures the function (SMTP_URL instead of the secret). */
function startFunction(queues: MailQueues, password = server.pass, extra: Record<string, string> = {}): Promise<FunctionInstance> {
  return FunctionInstance.start({
    bundle: { file: bundleFile, handler: SEND_MAIL_HANDLER },
    environment: {
      SMTP_URL: `smtp://${encodeURIComponent(server.user)}:${encodeURIComponent(password)}@${server.host}:${server.port}`,
      SMTP_CA_FILE: caFile,
      MAIL_PER_CONNECTION: '10',
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.dlqUrl,
      AWS_ENDPOINT_URL_SQS: emulator.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'OutboundMailTest',
      ...extra,
    },
    functionName: 'send-mail',
    region: 'us-east-1',
    memoryLimitInMB: 256,
    timeoutSeconds: 30,
  });
}

/** Publishes the jobs, receives them as one batch and invokes the bundle with it. */
async function invoke(instance: FunctionInstance, queues: MailQueues, jobs: unknown[]): Promise<Extract<InvocationResult, { kind: 'response' }>> {
  await queues.publish(jobs.map((job) => (typeof job === 'string' ? job : JSON.stringify(job))));
  const records = await queues.receiveRecords(10);
  expect(records).toHaveLength(jobs.length);
  const result = await instance.invoke(sqsEvent(records));
  if (result.kind !== 'response') throw new Error(`the invocation ended with ${result.kind}: ${'error' in result ? result.error : ''}`);
  return result;
}

function attribute(message: HeldMessage, name: string): string | undefined {
  return message.messageAttributes[name]?.StringValue;
}

/** The JSON log lines Powertools wrote, parsed. */
function logLines(logs: string[]): Record<string, unknown>[] {
  return logs.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the bundle cdk synth produces', () => {
  it('keeps class names: a job refused by every recipient is dead-lettered as RecipientsRefusedError', async () => {
    // Prepare
    const queues = await emulator.createMailQueues();
    const instance = await startFunction(queues);
    try {
      // Act: one job every recipient of which is refused, one invalid job, one good job.
      const result = await invoke(instance, queues, [mailJob(1, { to: ['gone1@example.com', 'gone2@example.com'] }), { v: 1, to: [] }, mailJob(3)]);
      // Assess: nothing retried; the refused job in the DLQ under its class's real name; the good job delivered.
      expect(result.response).toEqual({ batchItemFailures: [] });
      const dead = (await queues.contents(queues.dlqName)).ready;
      const byPhase = new Map(dead.map((message) => [attribute(message, 'FailurePhase'), message]));
      expect([...byPhase.keys()].sort()).toEqual(['job', 'rcpt']);
      const refused = byPhase.get('rcpt')!;
      expect(attribute(refused, 'FailureError')).toBe('RecipientsRefusedError');
      expect(attribute(refused, 'FailureCode')).toBe('550');
      expect(JSON.parse(refused.body)).toMatchObject({ id: 'job-1' });
      expect(server.messages.map((message) => message.to)).toEqual([['rcpt3@example.com']]);
      // The record's log line names the same class.
      const refusedLine = logLines(result.logs).find((line) => line['sqsMessageId'] === attribute(refused, 'SourceMessageId'));
      expect(JSON.stringify(refusedLine)).toContain('"RecipientsRefusedError"');
    } finally {
      await instance.stop();
    }
  });

  it('keeps class names in a systemic failure: a refused password is logged as AuthenticationError', async () => {
    // Prepare: the relay refuses the function's credentials.
    const queues = await emulator.createMailQueues();
    const instance = await startFunction(queues, 'wrong password');
    try {
      // Act
      const result = await invoke(instance, queues, [mailJob(4)]);
      // Assess: retried, and the alarm line names the class.
      expect(result.response.batchItemFailures).toHaveLength(1);
      const alarm = logLines(result.logs).find((line) => String(line['message']).startsWith('systemic failure'));
      expect(alarm?.['reason']).toMatchObject({ phase: 'auth', error: 'AuthenticationError' });
      expect(JSON.stringify(result.logs)).not.toContain('wrong password');
    } finally {
      await instance.stop();
    }
  });

  it('uses the delivery ledger (dynalite, as the stack sets it): records the delivery, then suppresses the same job published again', async () => {
    // Prepare: the ledger's settings as the stack gives them (MAIL_LEDGER_TTL_SECONDS: 4 + 14 days).
    const queues = await emulator.createMailQueues();
    const table = await dynamo.newLedgerTable();
    const ttlSeconds = 18 * 24 * 3600;
    const instance = await startFunction(queues, server.pass, {
      MAIL_LEDGER_TABLE: table,
      MAIL_LEDGER_TTL_SECONDS: String(ttlSeconds),
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    });
    try {
      const before = server.messages.length;
      // Act: the job, then the same job again (a producer's retry of its publish).
      const first = await invoke(instance, queues, [mailJob(7)]);
      const item = await dynamo.ledgerItem(table, 'job-7');
      const second = await invoke(instance, queues, [mailJob(7)]);
      // Assess: sent once; the ledger holds the recipient as delivered, kept for the TTL; the second is suppressed.
      expect(first.response).toEqual({ batchItemFailures: [] });
      expect(second.response).toEqual({ batchItemFailures: [] });
      expect(server.messages.slice(before).map((message) => message.to)).toEqual([['rcpt7@example.com']]);
      expect(item?.recipients['rcpt7@example.com']).toMatchObject({ state: 'delivered' });
      expect(item?.expiresAt).toBeGreaterThan(Date.now() / 1000 + ttlSeconds - 120);
      expect(item?.expiresAt).toBeLessThanOrEqual(Date.now() / 1000 + ttlSeconds);
      const outcomes = logLines(second.logs)
        .map((line) => line['outcome'])
        .filter((outcome) => outcome !== undefined);
      expect(outcomes).toEqual(['duplicateSuppressed']);
      expect((await queues.contents(queues.queueName)).ready).toEqual([]);
    } finally {
      await instance.stop();
    }
  });

  it('holds the class names in its text (esbuild keepNames), and is still minified', async () => {
    const bundle = await readFile(bundleFile, 'utf8');
    const missing = ['SmtpError', 'RecipientsRefusedError', 'AuthenticationError', 'InvalidJobError', 'ConfigError', 'SmtpClient'].filter(
      (name) => !bundle.includes(`"${name}"`),
    );
    expect(missing).toEqual([]);
    // Minified code is a few very long lines; the line breaks left are inside template literals of the
    // SDK's texts (each AWS client adds some: 113 lines with SQS, Secrets Manager and DynamoDB).
    const lines = bundle.split('\n');
    expect(bundle.length / lines.length).toBeGreaterThan(5000);
    expect(lines.filter((line) => /^\s+(const|let|function|return|if) /.test(line))).toEqual([]);
  });
});
