/**
 * The dead-letter queue's alarms, replayed against timelines of metric values with a model of
 * CloudWatch's evaluation (test/support/alarmSimulator.ts): the arrivals alarm must notify on each
 * new job in the DLQ, whether the function sent it or SQS's redrive moved it, and return to OK in
 * between; the retention alarm must fire while the oldest dead letter still has days to live.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { OutboundMail } from '../../infra/OutboundMail.js';
import type { OutboundMailProps } from '../../infra/OutboundMail.js';
import { simulateAlarm } from '../support/alarmSimulator.js';
import type { AlarmProperties, MetricTimeline, SimulatedMetric } from '../support/alarmSimulator.js';
import { testApp } from '../support/cdkApp.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq';
const DAY = 24 * 3600;

interface Built {
  mail: OutboundMail;
  template: Template;
  dlqName: unknown;
}

function build(props: Partial<OutboundMailProps> = {}): Built {
  const stack = new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const smtpSecret = Secret.fromSecretCompleteArn(stack, 'Relay', SECRET_ARN);
  const mail = new OutboundMail(stack, 'Mail', { smtpSecret, environmentName: 'orders', ...props });
  const dlq = mail.deadLetterQueue.node.defaultChild as CfnElement;
  return { mail, template: Template.fromStack(stack), dlqName: { 'Fn::GetAtt': [stack.getLogicalId(dlq), 'QueueName'] } };
}

/** The alarms of the template that read the given metric of the DLQ (directly or inside metric math). */
function alarmsOnDeadLetterQueue(built: Built, metricName: string): AlarmProperties[] {
  const reads = (namespace: string, name: string, dimensions: unknown): boolean =>
    namespace === 'AWS/SQS' && name === metricName && JSON.stringify(dimensions) === JSON.stringify([{ Name: 'QueueName', Value: built.dlqName }]);
  return Object.values(built.template.findResources('AWS::CloudWatch::Alarm'))
    .map((resource) => (resource as { Properties: AlarmProperties }).Properties)
    .filter(
      (alarm) =>
        reads(alarm.Namespace ?? '', alarm.MetricName ?? '', alarm.Dimensions) ||
        (alarm.Metrics ?? []).some(
          (query) =>
            query.MetricStat !== undefined &&
            reads(query.MetricStat.Metric.Namespace, query.MetricStat.Metric.MetricName, query.MetricStat.Metric.Dimensions),
        ),
    );
}

type Values = (number | undefined)[];
const _ = undefined;

/**
 * The DLQ's depth (SQS's ApproximateNumberOfMessagesVisible, Maximum per period) and the
 * function's DeadLettered count (Sum per period) of environment "orders"; any other metric the
 * alarm reads fails the test.
 */
function deadLetterTimeline(built: Built, series: { depth: Values; deadLettered: Values }): MetricTimeline {
  return (metric: SimulatedMetric) => {
    const dimensions = JSON.stringify(metric.dimensions);
    if (
      metric.namespace === 'AWS/SQS' &&
      metric.metricName === 'ApproximateNumberOfMessagesVisible' &&
      metric.stat === 'Maximum' &&
      dimensions === JSON.stringify([{ Name: 'QueueName', Value: built.dlqName }])
    ) {
      return series.depth;
    }
    if (
      metric.namespace === 'OutboundMail' &&
      metric.metricName === 'DeadLettered' &&
      metric.stat === 'Sum' &&
      dimensions ===
        JSON.stringify([
          { Name: 'Environment', Value: 'orders' },
          { Name: 'service', Value: 'send-mail' },
        ])
    ) {
      return series.deadLettered;
    }
    throw new Error(`the alarm reads a metric the test does not know: ${JSON.stringify(metric)}`);
  };
}

/** Evaluation ranges to try: CloudWatch retrieves more periods than EvaluationPeriods; how many is its business. */
const RANGES = [2, 3, 5, 100];

describe('the dead-letter arrivals alarm', () => {
  const built = build();
  const [alarm, ...others] = alarmsOnDeadLetterQueue(built, 'ApproximateNumberOfMessagesVisible');

  it('is one alarm on the DLQ depth', () => {
    expect(alarm).toBeDefined();
    expect(others).toEqual([]);
  });

  it.each(RANGES)('notifies on each of three arrivals and is OK in between (evaluation range %i periods)', (evaluationRange) => {
    // Period 2: the function dead-letters a job; 5: SQS's redrive moves one (the function, idle, writes no metric);
    // 9: the function dead-letters another. The DLQ is never emptied.
    const timeline = deadLetterTimeline(built, {
      depth: [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3],
      deadLettered: [0, 0, 1, 0, _, _, _, _, _, 1, 0, _],
    });
    const result = simulateAlarm(alarm as AlarmProperties, 12, timeline, { evaluationRange });
    expect(result.alarmNotifications).toEqual([2, 5, 9]);
    expect(result.states).toEqual(['OK', 'OK', 'ALARM', 'OK', 'OK', 'ALARM', 'OK', 'OK', 'OK', 'ALARM', 'OK', 'OK']);
  });

  it.each(RANGES)('notifies when SQS moves a job into an empty DLQ that published no metrics (evaluation range %i)', (evaluationRange) => {
    // An empty queue nobody touches for 6 hours is inactive: SQS publishes nothing for it.
    const timeline = deadLetterTimeline(built, { depth: [_, _, _, 1, 1, 1], deadLettered: [_, _, _, _, _, _] });
    expect(simulateAlarm(alarm as AlarmProperties, 6, timeline, { evaluationRange }).alarmNotifications).toEqual([3]);
  });

  it.each(RANGES)('stays quiet while the operator redrives the DLQ, and notifies on the next arrival (evaluation range %i)', (evaluationRange) => {
    const timeline = deadLetterTimeline(built, { depth: [2, 2, 0, 0, 1, 1, 0, 0], deadLettered: [_, _, _, _, _, _, _, _] });
    const result = simulateAlarm(alarm as AlarmProperties, 8, timeline, { evaluationRange });
    expect(result.alarmNotifications).toEqual([4]);
  });

  it.each(RANGES)(
    'notifies on a job the function dead-letters in the period the operator purges the DLQ (evaluation range %i)',
    (evaluationRange) => {
      // The depth's maximum over the period does not grow (3 before the purge, 1 after): the DeadLettered count tells.
      const timeline = deadLetterTimeline(built, { depth: [3, 3, 3, 1, 1], deadLettered: [0, 0, 1, 0, 0] });
      expect(simulateAlarm(alarm as AlarmProperties, 5, timeline, { evaluationRange }).alarmNotifications).toEqual([2]);
    },
  );

  it('stays in ALARM, without notifying again, while jobs arrive in every period (CloudWatch notifies on changes of state)', () => {
    const timeline = deadLetterTimeline(built, { depth: [0, 1, 2, 3, 3, 3], deadLettered: [0, 1, 1, 1, 0, 0] });
    const result = simulateAlarm(alarm as AlarmProperties, 6, timeline, { evaluationRange: 3 });
    expect(result.alarmNotifications).toEqual([1]);
    expect(result.states).toEqual(['OK', 'ALARM', 'ALARM', 'ALARM', 'OK', 'OK']);
  });
});

describe('the dead-letter retention alarm', () => {
  it.each<[string, Partial<OutboundMailProps>, number]>([
    // A job SQS moves keeps its enqueue time on a standard queue: it may have spent up to the mail
    // queue's retention there, so it may have 14 - 4 = 10 days in the DLQ; alarm 2 days before.
    ['a standard queue keeping jobs 4 days (the default): 14 - 4 - 2 days', {}, 8 * DAY],
    // FIFO queues reset the enqueue time on the move: 14 days in the DLQ; alarm 2 days before.
    ['a FIFO queue: 14 - 2 days', { fifo: true }, 12 * DAY],
    // Only 1 day of DLQ life guaranteed: half of it as the margin.
    ['a standard queue keeping jobs 13 days: half of the 1 day left', { retentionPeriod: Duration.days(13) }, 12 * 3600],
  ])('fires when the oldest dead letter is older than the days it surely has left, less a margin: %s', (_what, props, threshold) => {
    const built = build(props);
    const alarms = alarmsOnDeadLetterQueue(built, 'ApproximateAgeOfOldestMessage');
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
      AlarmName: 'OutboundMail-orders-DeadLettersExpiring',
    });
  });
});
