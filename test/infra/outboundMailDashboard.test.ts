/**
 * The dashboard of an environment, read back from the synthesised template: every graph the
 * issue asks for, each metric of the function's namespace with that environment's dimensions, the
 * queues and the function by their own names, and the alarms' states.
 */
import { Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { OutboundMail } from '../../infra/OutboundMail.js';
import { OUTBOUND_MAIL_GRAPHS, addOutboundMailDashboard } from '../../infra/outboundMailDashboard.js';
import { testApp } from '../support/cdkApp.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq';

interface Widget {
  type: string;
  width: number;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    alarms?: unknown[];
    annotations?: { horizontal?: { value: number; label: string }[] };
    period?: number;
  };
}

function teamMail(): { stack: Stack; mail: OutboundMail } {
  const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN);
  return { stack, mail: new OutboundMail(stack, 'Mail', { smtpSecret, environmentName: 'orders', maxConnections: 4 }) };
}

/** The dashboard's body with each reference written `{Ref:Id}` or `{Id.Attribute}`, parsed. */
function dashboardWidgets(template: Template, name: string): Widget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard', { Properties: { DashboardName: name } }));
  expect(dashboards).toHaveLength(1);
  const body = (dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody;
  const parts = typeof body === 'string' ? [body] : (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const { Ref: ref, 'Fn::GetAtt': getAtt } = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return ref !== undefined ? `{Ref:${ref}}` : `{${getAtt?.join('.') ?? JSON.stringify(part)}}`;
    })
    .join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

function idOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/**
 * A graph's metrics as `Namespace MetricName dimension=value ... stat`: a "." in a row repeats the
 * row above, and a row without options is CloudWatch's default statistic, Average.
 */
function described(widget: Widget): string[] {
  let previous: unknown[] = [];
  return (widget.properties.metrics ?? []).map((row) => {
    const last = row.at(-1);
    const options = (typeof last === 'object' ? last : { stat: 'Average' }) as { stat?: string };
    const names = (typeof last === 'object' ? row.slice(0, -1) : row).map((value, index) => (value === '.' ? previous[index] : value));
    previous = names;
    const [namespace, metricName, ...dimensions] = names;
    const pairs: string[] = [];
    for (let index = 0; index < dimensions.length; index += 2) pairs.push(`${String(dimensions[index])}=${String(dimensions[index + 1])}`);
    return [namespace, metricName, ...pairs, options.stat].join(' ');
  });
}

describe('the dashboard of an environment', () => {
  const { stack, mail } = teamMail();
  const template = Template.fromStack(stack);
  const widgets = dashboardWidgets(template, 'OutboundMail-orders');
  const graphs = new Map(widgets.filter((widget) => widget.type === 'metric').map((widget) => [widget.properties.title, widget]));
  const own = 'Environment=orders service=send-mail';
  const queue = `QueueName={${idOf(stack, mail.queue)}.QueueName}`;
  const dlq = `QueueName={${idOf(stack, mail.deadLetterQueue)}.QueueName}`;
  const fn = `FunctionName={Ref:${idOf(stack, mail.sendMailFunction)}}`;

  it('is named after the environment and opens with what to run', () => {
    expect(mail.dashboard.node.path).toBe('TeamStack/Mail/Dashboard');
    expect(widgets[0]?.properties.markdown).toContain('mail-queue dlq list --stack OutboundMail-orders');
  });

  it('shows the state of every alarm of the environment', () => {
    const alarmWidget = widgets.find((widget) => widget.type === 'alarm');
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarmIds.length).toBeGreaterThanOrEqual(5);
    expect(alarmWidget?.properties.alarms).toHaveLength(alarmIds.length);
    for (const id of alarmIds) expect(alarmWidget?.properties.alarms).toContain(`{${id}.Arn}`);
  });

  it.each<[string, string[]]>([
    ['Jobs delivered', [`OutboundMail Delivered ${own} Sum`]],
    ['Jobs retried', [`OutboundMail Retried ${own} Sum`]],
    ['Jobs dead-lettered by the function', [`OutboundMail DeadLettered ${own} Sum`]],
    ['Recipients refused', [`OutboundMail RecipientsRefused ${own} Sum`]],
    ['Recipients re-enqueued (refused for now)', [`OutboundMail RecipientsRequeued ${own} Sum`]],
    ['Recipients suppressed (outside allowedRecipients)', [`OutboundMail RecipientsSuppressed ${own} Sum`]],
    ['Possible duplicates (no reply after the data)', [`OutboundMail PossibleDuplicates ${own} Sum`]],
    ['Jobs not sent again (delivery ledger: already delivered)', [`OutboundMail DuplicatesSuppressed ${own} Sum`]],
    ['Jobs sent without the delivery ledger (unreachable)', [`OutboundMail LedgerUnavailable ${own} Sum`]],
    ['Systemic failures (relay, TLS or AUTH)', [`OutboundMail SystemicFailures ${own} Sum`]],
    [
      'Batch duration (ms)',
      [`OutboundMail BatchDuration ${own} Average`, `OutboundMail BatchDuration ${own} p99`, `OutboundMail BatchDuration ${own} Maximum`],
    ],
    ['Round trips per batch', [`OutboundMail RoundTrips ${own} Average`, `OutboundMail RoundTrips ${own} Maximum`]],
  ])("draws %s from the function's metrics of this environment", (title, metrics) => {
    expect(described(graphs.get(title) as Widget)).toEqual(metrics);
  });

  it.each<[string, () => string[]]>([
    [
      'Mail queue: jobs waiting, in flight, delayed',
      () => [
        `AWS/SQS ApproximateNumberOfMessagesVisible ${queue} Maximum`,
        `AWS/SQS ApproximateNumberOfMessagesNotVisible ${queue} Maximum`,
        `AWS/SQS ApproximateNumberOfMessagesDelayed ${queue} Maximum`,
      ],
    ],
    ['Oldest job on the mail queue (s)', () => [`AWS/SQS ApproximateAgeOfOldestMessage ${queue} Maximum`]],
    ['Dead-letter queue: jobs', () => [`AWS/SQS ApproximateNumberOfMessagesVisible ${dlq} Maximum`]],
    ['Oldest dead letter (s)', () => [`AWS/SQS ApproximateAgeOfOldestMessage ${dlq} Maximum`]],
    ['Function errors and throttles', () => [`AWS/Lambda Errors ${fn} Sum`, `AWS/Lambda Throttles ${fn} Sum`]],
    ['Function duration (ms)', () => [`AWS/Lambda Duration ${fn} Average`, `AWS/Lambda Duration ${fn} Maximum`]],
    ['Function concurrency (SMTP connections)', () => [`AWS/Lambda ConcurrentExecutions ${fn} Maximum`]],
  ])('draws %s from its own queue or function', (title, metrics) => {
    expect(described(graphs.get(title) as Widget)).toEqual(metrics());
  });

  it('draws every graph over 5-minute periods, three to a row, and the connection limit on the concurrency graph', () => {
    expect(graphs.size).toBe(OUTBOUND_MAIL_GRAPHS.length);
    for (const graph of graphs.values()) {
      expect(graph.width).toBe(8);
      // CloudWatch graphs a metric over 300 s unless told otherwise; the template says nothing else.
      expect(graph.properties.period ?? 300).toBe(300);
      for (const row of graph.properties.metrics ?? []) expect(typeof row.at(-1) === 'object' ? row.at(-1) : {}).not.toHaveProperty('period');
    }
    expect(graphs.get('Function concurrency (SMTP connections)')?.properties.annotations?.horizontal).toEqual([
      { value: 4, label: 'maxConnections', yAxis: 'left' },
    ]);
  });

  it('takes one more line for one more metric', () => {
    const other = teamMail();
    addOutboundMailDashboard(
      new Construct(other.stack, 'Extra'),
      { queue: other.mail.queue, deadLetterQueue: other.mail.deadLetterQueue, sendMailFunction: other.mail.sendMailFunction, maxConnections: 4 },
      {
        metrics: { namespace: 'OutboundMail', environment: 'extra' },
        alarms: [],
        graphs: [...OUTBOUND_MAIL_GRAPHS, { title: 'Recipients suppressed', metrics: (s) => [s.mail('RecipientsSuppressed')] }],
      },
    );
    const added = dashboardWidgets(Template.fromStack(other.stack), 'OutboundMail-extra').filter((widget) => widget.type === 'metric');
    expect(added).toHaveLength(OUTBOUND_MAIL_GRAPHS.length + 1);
    expect(described(added.at(-1) as Widget)).toEqual(['OutboundMail RecipientsSuppressed Environment=extra service=send-mail Sum']);
  });
});
