/**
 * Two environments deployed to one account and region: each function is told its environment
 * (`MAIL_ENVIRONMENT`, the dimension it adds to every metric) and its queue's `maxReceiveCount`
 * (`MAIL_MAX_RECEIVES`), and each stack's alarms and dashboard read that environment's metrics
 * only, under names that do not collide.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { InvalidOutboundMailPropsError } from '../../infra/errors.js';
import { OutboundMail } from '../../infra/OutboundMail.js';
import { addOutboundMailStacks } from '../../infra/outboundMailApp.js';
import { cdkContext, testApp } from '../support/cdkApp.js';

interface Dimension {
  Name: string;
  Value: unknown;
}
interface MetricStat {
  Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] };
}
interface AlarmProperties {
  AlarmName?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
  Metrics?: { MetricStat?: MetricStat }[];
}

/** Both environments copy `dev` of cdk.json: same account, same region. */
function twoEnvironmentsInOneAccount(): Map<string, Template> {
  const context = cdkContext();
  const dev = (context['environments'] as Record<string, Record<string, unknown>>)['dev'];
  const app = testApp({ environments: { blue: { ...dev }, green: { ...dev, maxReceiveCount: 3 } } });
  return new Map(addOutboundMailStacks(app).map((stack) => [stack.stackName.replace('OutboundMail-', ''), Template.fromStack(stack)]));
}

function alarms(template: Template): AlarmProperties[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((resource) => (resource as { Properties: AlarmProperties }).Properties);
}

/** Every metric of the function's own namespace an alarm reads, as `name {dimensions}` with the dimensions sorted. */
function functionMetricsWatched(template: Template): string[] {
  const metrics = alarms(template).flatMap((alarm) => [
    ...(alarm.MetricName === undefined ? [] : [{ Namespace: alarm.Namespace ?? '', MetricName: alarm.MetricName, Dimensions: alarm.Dimensions }]),
    ...(alarm.Metrics ?? []).flatMap((query) => (query.MetricStat === undefined ? [] : [query.MetricStat.Metric])),
  ]);
  return metrics
    .filter((metric) => metric.Namespace === 'OutboundMail')
    .map((metric) => {
      const dimensions = Object.fromEntries(
        (metric.Dimensions ?? []).map(({ Name, Value }) => [Name, Value]).sort(([a], [b]) => String(a).localeCompare(String(b))),
      );
      return `${metric.MetricName} ${JSON.stringify(dimensions)}`;
    });
}

describe('two environments in one account and region', () => {
  const templates = twoEnvironmentsInOneAccount();

  it('tells each function its environment and how many receives its queue allows', () => {
    for (const [environment, receives] of [
      ['blue', '5'],
      ['green', '3'],
    ] as const) {
      templates.get(environment)?.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ MAIL_ENVIRONMENT: environment, MAIL_MAX_RECEIVES: receives }) },
      });
    }
  });

  it("reads the function's metrics of its own environment only, with the dimensions Powertools writes", () => {
    const blue = functionMetricsWatched(templates.get('blue') as Template);
    const green = functionMetricsWatched(templates.get('green') as Template);
    expect(blue.length).toBeGreaterThan(0);
    // Powertools writes one dimension set: its `service` default dimension and the Environment default dimension.
    for (const [environment, watched] of [
      ['blue', blue],
      ['green', green],
    ] as const) {
      for (const metric of watched) expect(metric).toMatch(new RegExp(`^\\w+ \\{"Environment":"${environment}","service":"send-mail"\\}$`));
    }
    expect(blue.filter((metric) => green.includes(metric))).toEqual([]);
  });

  it('names every alarm and the dashboard after the environment, so that nothing collides in the account', () => {
    const names = [...templates].flatMap(([environment, template]) =>
      alarms(template).map((alarm) => {
        expect(alarm.AlarmName).toMatch(new RegExp(`^OutboundMail-${environment}-\\w+$`));
        return alarm.AlarmName;
      }),
    );
    expect(new Set(names).size).toBe(names.length);
    for (const [environment, template] of templates) {
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `OutboundMail-${environment}` });
    }
  });
});

describe('the environment of an OutboundMail a team embeds', () => {
  const teamStack = (): Stack => new Stack(testApp(), 'TeamStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const secret = (stack: Stack) => Secret.fromSecretCompleteArn(stack, 'Relay', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay-Xy12Zq');

  it("defaults to a name unique to the construct's path, one the function accepts", () => {
    const stack = teamStack();
    const mail = new OutboundMail(stack, 'Mail', { smtpSecret: secret(stack) });
    expect(mail.environmentName).toMatch(/^TeamStack-Mail-[A-Z0-9]{8}$/);
    expect(mail.environmentName).toMatch(/^[A-Za-z][A-Za-z0-9-]{0,63}$/); // lib/config.ts's rule for MAIL_ENVIRONMENT
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAIL_ENVIRONMENT: mail.environmentName }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `OutboundMail-${mail.environmentName}` });
  });

  it.each(['prod_eu', '1prod', '', 'p'.repeat(65), 'prod eu'])(
    'refuses the environment name %j, which the function would refuse',
    (environmentName) => {
      const stack = teamStack();
      let caught: unknown;
      try {
        new OutboundMail(stack, 'Mail', { smtpSecret: secret(stack), environmentName });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidOutboundMailPropsError);
      expect((caught as InvalidOutboundMailPropsError).prop).toBe('environmentName');
      expect((caught as Error).message).toMatch(/^OutboundMail: environmentName must be a letter, then letters, digits or "-", at most 64/);
    },
  );
});
