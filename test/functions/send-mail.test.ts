/**
 * The deployed entry point, `functions/send-mail.ts`, as Lambda runs it: configuration from the
 * environment at import (cold start), middy with Powertools logger and metrics, the AWS SDK's
 * own `AWS_ENDPOINT_URL_SQS` pointing at the SQS emulator, and a real SMTP server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { mailJob } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import type { MailQueues } from '../support/sqsQueues.js';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const ENV_KEYS = [
  'SMTP_URL',
  'SMTP_SECRET_ID',
  'SMTP_CA_FILE',
  'MAIL_PER_CONNECTION',
  'DLQ_URL',
  'QUEUE_URL',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'POWERTOOLS_METRICS_NAMESPACE',
  'MAIL_ENVIRONMENT',
] as const;
const saved = new Map(ENV_KEYS.map((key) => [key, process.env[key]]));

const emulator = useSqsEmulator();
let smtp: SmtpServerHandle;
let queues: MailQueues;
let directory: string;

beforeAll(async () => {
  smtp = await startSmtpServer({ onRcptTo: (to) => (to.startsWith('gone') ? { code: 550, message: 'No such user' } : undefined) });
  queues = await emulator().createMailQueues();
  directory = mkdtempSync(join(tmpdir(), 'send-mail-'));
  writeFileSync(join(directory, 'ca.pem'), smtp.ca);
});
afterAll(async () => {
  await smtp.stop();
  rmSync(directory, { recursive: true, force: true });
});
afterEach(() => {
  for (const [key, value] of saved) setVariable(key, value);
  vi.restoreAllMocks();
});

function setEnvironment(overrides: Partial<Record<(typeof ENV_KEYS)[number], string | undefined>> = {}): void {
  const values: Record<string, string | undefined> = {
    SMTP_URL: `smtp://${encodeURIComponent(smtp.user)}:${encodeURIComponent(smtp.pass)}@127.0.0.1:${smtp.port}`,
    SMTP_CA_FILE: join(directory, 'ca.pem'),
    DLQ_URL: queues.dlqUrl,
    QUEUE_URL: queues.queueUrl,
    AWS_ENDPOINT_URL_SQS: emulator().endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    POWERTOOLS_METRICS_NAMESPACE: 'OutboundMailTest',
    ...overrides,
  };
  for (const [key, value] of Object.entries(values)) setVariable(key, value);
}

/** Sets one environment variable, or unsets it (`undefined`). */
function setVariable(key: string, value: string | undefined): void {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- delete is how Node unsets an environment variable (assigning undefined stores "undefined")
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

async function importHandler(): Promise<Handler> {
  vi.resetModules();
  const module = (await import('../../functions/send-mail.js')) as { handler: Handler };
  return module.handler;
}

/** Captures what is written to stdout and stderr (Powertools writes its JSON lines and EMF there; warnings and errors go to stderr). */
function captureOutput(): string[] {
  const lines: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      return true;
    });
  }
  return lines;
}

describe('functions/send-mail.ts', () => {
  it('delivers a batch through middy, logs one JSON line per record and writes EMF metrics', async () => {
    // Prepare
    setEnvironment();
    const handler = await importHandler();
    await queues.publish([JSON.stringify(mailJob(1)), JSON.stringify(mailJob(2, { to: ['gone2@example.com'] }))]);
    const records = await queues.receiveRecords();
    const output = captureOutput();
    // Act
    const response = await handler(sqsEvent(records), lambdaContext());
    vi.restoreAllMocks();
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com']]);
    const dead = await queues.receiveAll(queues.dlqUrl);
    expect(dead.map((m) => m.MessageAttributes?.['SourceMessageId']?.StringValue)).toEqual([records[1]!.messageId]);

    const json = output.map((line) => JSON.parse(line) as Record<string, unknown>);
    const recordLines = json.filter((line) => line['message'] === 'mail job');
    expect(recordLines.map((line) => [line['sqsMessageId'], line['jobId'], line['outcome'], line['placement']])).toEqual([
      [records[0]!.messageId, 'job-1', 'delivered', 'done'],
      [records[1]!.messageId, 'job-2', 'permanent', 'deadLettered'],
    ]);
    expect(recordLines.every((line) => line['service'] === 'send-mail' && typeof line['function_request_id'] === 'string')).toBe(true);
    const emf = json.find((line) => line['_aws'] !== undefined) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
    } & Record<string, unknown>;
    expect(emf._aws.CloudWatchMetrics[0]!.Namespace).toBe('OutboundMailTest');
    expect(emf._aws.CloudWatchMetrics[0]!.Metrics.map((metric) => metric.Name)).toEqual(
      expect.arrayContaining(['Delivered', 'Retried', 'DeadLettered', 'RecipientsRefused', 'BatchDuration', 'RoundTrips']),
    );
    expect(emf['Delivered']).toBe(1);
    expect(emf['DeadLettered']).toBe(1);
    const everything = output.join('\n');
    expect(everything).not.toContain(smtp.pass);
    expect(everything).not.toMatch(/(rcpt1|gone2|sender)@example\.com/);
    expect(everything).not.toContain('Body of job');
  });

  it('MAIL_ENVIRONMENT: every metric of the EMF output carries the Environment dimension (with service, which Powertools adds)', async () => {
    // Prepare
    setEnvironment({ MAIL_ENVIRONMENT: 'staging' });
    const handler = await importHandler();
    await queues.publish([JSON.stringify(mailJob(3))]);
    const records = await queues.receiveRecords();
    const output = captureOutput();
    // Act
    const response = await handler(sqsEvent(records), lambdaContext());
    vi.restoreAllMocks();
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const emf = output.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['_aws'] !== undefined) as ({
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    } & Record<string, unknown>)[];
    expect(emf).toHaveLength(1);
    expect(emf[0]!._aws.CloudWatchMetrics).toHaveLength(1);
    expect(emf[0]!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'Environment']]);
    expect(emf[0]!['Environment']).toBe('staging');
    expect(emf[0]!['service']).toBe('send-mail');
    expect(emf[0]!['Delivered']).toBe(1);
  });

  it('fails at cold start with a message naming a missing setting', async () => {
    // Prepare
    setEnvironment({ DLQ_URL: undefined });
    // Act + Assess
    await expect(importHandler()).rejects.toThrow(
      new ConfigError('DLQ_URL', 'missing: set it to the queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)'),
    );
  });

  it('fails at cold start on a malformed MAIL_PER_CONNECTION, and never shows the SMTP password', async () => {
    // Prepare
    setEnvironment({ MAIL_PER_CONNECTION: 'ten' });
    // Act
    const failure = await importHandler().then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    // Assess
    expect(failure?.message).toBe('MAIL_PER_CONNECTION: must be a whole number from 1 to 1000, not "ten"');
    setEnvironment({ SMTP_URL: 'smtp://user:hunter2@relay.example.com:99999' });
    const other = await importHandler().then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(other?.message).toMatch(/^SMTP_URL: /);
    expect(other?.message).not.toContain('hunter2');
  });
});
