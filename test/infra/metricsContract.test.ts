/**
 * The contract between the stack and the function: the send-mail entry point, run with the
 * metrics settings the synthesised stack gives it (`MAIL_ENVIRONMENT`,
 * `POWERTOOLS_METRICS_NAMESPACE`), writes its metrics (EMF) under exactly the namespace, names and
 * dimensions the stack's alarms and dashboard read. A CloudWatch metric is identified by its full
 * set of dimensions, so one dimension too many or too few on either side and the alarms watch
 * nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { addOutboundMailStacks } from '../../infra/outboundMailApp.js';
import { testApp } from '../support/cdkApp.js';
import { mailJob } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
interface Dimension {
  Name: string;
  Value: unknown;
}
interface MetricStat {
  Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] };
}
interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

const emulator = useSqsEmulator();
let smtp: SmtpServerHandle;
let directory: string;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  smtp = await startSmtpServer({ onRcptTo: (to) => (to.startsWith('gone') ? { code: 550, message: 'No such user' } : undefined) });
  directory = mkdtempSync(join(tmpdir(), 'metrics-contract-'));
  writeFileSync(join(directory, 'ca.pem'), smtp.ca);
});
afterAll(async () => {
  for (const [key, value] of saved) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- delete is how Node unsets an environment variable
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await smtp.stop();
  rmSync(directory, { recursive: true, force: true });
});

function setVariables(values: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) {
    if (!saved.has(key)) saved.set(key, process.env[key]);
    process.env[key] = value;
  }
}

/** Every metric of the function's namespace the alarms and the dashboard of the dev stack read, as `name {dimensions}`. */
function metricsTheStackReads(template: Template, namespace: string): Set<string> {
  const read = new Set<string>();
  const add = (metric: { Namespace?: string; MetricName?: string; Dimensions?: Dimension[] }): void => {
    if (metric.Namespace !== namespace || metric.MetricName === undefined) return;
    const dimensions = Object.fromEntries(
      (metric.Dimensions ?? []).map(({ Name, Value }) => [Name, Value]).sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    read.add(`${metric.MetricName} ${JSON.stringify(dimensions)}`);
  };
  for (const resource of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const alarm = (
      resource as { Properties: { Namespace?: string; MetricName?: string; Dimensions?: Dimension[]; Metrics?: { MetricStat?: MetricStat }[] } }
    ).Properties;
    add(alarm);
    for (const query of alarm.Metrics ?? []) if (query.MetricStat !== undefined) add(query.MetricStat.Metric);
  }
  const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as {
    Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } };
  };
  const body = dashboard.Properties.DashboardBody['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  for (const widget of (JSON.parse(body) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets) {
    let previous: unknown[] = [];
    for (const row of widget.properties.metrics ?? []) {
      const names = row.filter((value) => typeof value !== 'object').map((value, index) => (value === '.' ? previous[index] : value)) as string[];
      previous = names;
      const [rowNamespace, metricName, ...pairs] = names;
      const dimensions: Dimension[] = [];
      for (let index = 0; index < pairs.length; index += 2) dimensions.push({ Name: String(pairs[index]), Value: pairs[index + 1] });
      add({ Namespace: rowNamespace ?? '', MetricName: metricName ?? '', Dimensions: dimensions });
    }
  }
  return read;
}

it("the function, given the stack's settings, writes the metrics its alarms and dashboard read, with the same dimensions", async () => {
  // Prepare: the dev stack as synthesised, and the function's metrics settings from it.
  const [stack] = addOutboundMailStacks(testApp({ env: 'dev' }));
  const template = Template.fromStack(stack!);
  const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  const variables = fn.Properties.Environment.Variables;
  const namespace = variables['POWERTOOLS_METRICS_NAMESPACE'] as string;
  const read = metricsTheStackReads(template, namespace);
  expect([...read].some((metric) => metric.startsWith('DeadLettered '))).toBe(true);

  const queues = await emulator().createMailQueues();
  setVariables({
    MAIL_ENVIRONMENT: variables['MAIL_ENVIRONMENT'] as string,
    POWERTOOLS_METRICS_NAMESPACE: namespace,
    MAIL_PER_CONNECTION: variables['MAIL_PER_CONNECTION'] as string,
    SMTP_URL: `smtp://${encodeURIComponent(smtp.user)}:${encodeURIComponent(smtp.pass)}@127.0.0.1:${smtp.port}`,
    SMTP_CA_FILE: join(directory, 'ca.pem'),
    QUEUE_URL: queues.queueUrl,
    DLQ_URL: queues.dlqUrl,
    AWS_ENDPOINT_URL_SQS: emulator().endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  vi.resetModules();
  const { handler } = (await import('../../functions/send-mail.js')) as { handler: Handler };
  await queues.publish([JSON.stringify(mailJob(1)), JSON.stringify(mailJob(2, { to: ['gone2@example.com'] }))]);
  const records = await queues.receiveRecords();
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the log lines of the refused job (warnings)

  // Act
  try {
    await handler(sqsEvent(records), lambdaContext());
  } finally {
    vi.restoreAllMocks();
  }

  // Assess: one EMF record, in the stack's namespace, with the dimensions the stack reads; each
  // metric the stack reads that this batch wrote is there under that very identity.
  const emf = lines.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Emf);
  expect(emf).toHaveLength(1);
  const [directive] = emf[0]!._aws.CloudWatchMetrics;
  expect(directive?.Namespace).toBe(namespace);
  expect(directive?.Dimensions).toHaveLength(1);
  const dimensions = Object.fromEntries(
    (directive?.Dimensions[0] ?? []).map((name) => [name, emf[0]![name]]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
  const written = new Set(directive?.Metrics.map((metric) => `${metric.Name} ${JSON.stringify(dimensions)}`));
  expect(emf[0]!['DeadLettered']).toBe(1);
  expect(emf[0]!['Delivered']).toBe(1);
  const readAndWritten = [...read].filter((metric) => written.has(metric));
  expect(readAndWritten.length).toBeGreaterThanOrEqual(6);
  // What the stack reads but this batch did not write differs by name only (SystemicFailures, the ledger's), never by dimensions.
  for (const metric of read) expect(metric.slice(metric.indexOf(' '))).toBe(` ${JSON.stringify(dimensions)}`);
  expect(written.has([...read].find((metric) => metric.startsWith('DeadLettered ')) ?? '')).toBe(true);
}, 120_000);
