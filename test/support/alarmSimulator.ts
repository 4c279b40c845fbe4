/**
 * A small model of how CloudWatch evaluates a metric alarm, to replay a timeline of metric values
 * against an alarm exactly as it was synthesised (`AWS::CloudWatch::Alarm` properties), and count
 * the notifications it would send.
 *
 * What it models (CloudWatch User Guide, "Evaluating an alarm" and "Configuring how alarms treat
 * missing data"): each evaluation retrieves the datapoints of an *evaluation range* longer than
 * `EvaluationPeriods`, takes the most recent `EvaluationPeriods` datapoints present in it, fills the
 * missing ones by `TreatMissingData`, and goes to ALARM when at least `DatapointsToAlarm` of them
 * breach; SNS is notified on a change of state only. Metric math alarms are evaluated over the
 * same range with the few functions our alarms use: `FILL(x, n)`, `DIFF(x)`, `MAX([x, y, ...])`
 * (point by point), `+`, `-`, numbers and query ids.
 * @module
 */

/** A metric an alarm reads, as the template names it. */
export interface SimulatedMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly { Name: string; Value: unknown }[];
  readonly stat: string;
}

/** One value per period (`undefined`: no datapoint), for a metric the alarm reads. */
export type MetricTimeline = (metric: SimulatedMetric) => readonly (number | undefined)[];

/** Options of {@link simulateAlarm}. */
export interface SimulationOptions {
  /** Periods the alarm retrieves at each evaluation (CloudWatch retrieves more than EvaluationPeriods). */
  readonly evaluationRange: number;
}

/** The alarm's state after each period, and the periods at which it notified ALARM. */
export interface SimulationResult {
  readonly states: ('OK' | 'ALARM')[];
  readonly alarmNotifications: number[];
}

type Series = (number | undefined)[];
type Value = Series | number | Series[];

interface MetricQuery {
  Id: string;
  ReturnData?: boolean;
  Expression?: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] }; Stat: string };
}

/** The properties of an `AWS::CloudWatch::Alarm`, as far as the simulation reads them. */
export interface AlarmProperties {
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Statistic?: string;
  Metrics?: MetricQuery[];
}

/**
 * Replays `timeline` (one value per period, `periods` of them) against the alarm.
 * @example
 * const { alarmNotifications } = simulateAlarm(props, 12, () => depth, { evaluationRange: 3 });
 */
export function simulateAlarm(alarm: AlarmProperties, periods: number, timeline: MetricTimeline, options: SimulationOptions): SimulationResult {
  const states: ('OK' | 'ALARM')[] = [];
  const alarmNotifications: number[] = [];
  let state: 'OK' | 'ALARM' = 'OK';
  for (let now = 0; now < periods; now += 1) {
    const start = Math.max(0, now - options.evaluationRange + 1);
    const range = valuesOver(alarm, timeline, start, now + 1);
    const present = range.filter((value): value is number => value !== undefined);
    const evaluated: (number | undefined)[] = present.slice(-alarm.EvaluationPeriods);
    while (evaluated.length < alarm.EvaluationPeriods) evaluated.unshift(undefined);
    const breaching = evaluated.filter((value) => (value === undefined ? alarm.TreatMissingData === 'breaching' : breaches(alarm, value))).length;
    const next = breaching >= (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods) ? 'ALARM' : 'OK';
    if (next === 'ALARM' && state === 'OK') alarmNotifications.push(now);
    state = next;
    states.push(state);
  }
  return { states, alarmNotifications };
}

function breaches(alarm: AlarmProperties, value: number): boolean {
  switch (alarm.ComparisonOperator) {
    case 'GreaterThanThreshold':
      return value > alarm.Threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= alarm.Threshold;
    default:
      throw new Error(`comparison ${alarm.ComparisonOperator} not modelled`);
  }
}

/** The alarm's value for each period in [start, end): one metric, or the expression that returns data. */
function valuesOver(alarm: AlarmProperties, timeline: MetricTimeline, start: number, end: number): Series {
  if (alarm.Metrics === undefined) {
    const metric = {
      namespace: alarm.Namespace ?? '',
      metricName: alarm.MetricName ?? '',
      dimensions: alarm.Dimensions ?? [],
      stat: alarm.Statistic ?? '',
    };
    return timeline(metric).slice(start, end);
  }
  const queries = new Map(alarm.Metrics.map((query) => [query.Id, query]));
  const evaluate = (id: string): Value => {
    const query = queries.get(id);
    if (query === undefined) throw new Error(`no query ${id}`);
    if (query.MetricStat !== undefined) {
      const { Metric, Stat } = query.MetricStat;
      return timeline({ namespace: Metric.Namespace, metricName: Metric.MetricName, dimensions: Metric.Dimensions ?? [], stat: Stat }).slice(
        start,
        end,
      );
    }
    return new ExpressionReader(query.Expression ?? '', evaluate, end - start).read();
  };
  const returned = alarm.Metrics.filter((query) => query.ReturnData !== false);
  if (returned.length !== 1 || returned[0] === undefined) throw new Error('an alarm returns exactly one query');
  const value = evaluate(returned[0].Id);
  if (!Array.isArray(value) || Array.isArray(value[0])) throw new Error('the alarm expression must return one time series');
  return value as Series;
}

/** Reads and evaluates one metric math expression, point by point over the range. */
class ExpressionReader {
  private readonly tokens: string[];
  private position = 0;

  constructor(
    expression: string,
    private readonly query: (id: string) => Value,
    private readonly length: number,
  ) {
    this.tokens = expression.match(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[()[\],+-]/g) ?? [];
  }

  read(): Value {
    const value = this.sum();
    if (this.position !== this.tokens.length) throw new Error(`unexpected ${this.tokens[this.position] ?? ''}`);
    return value;
  }

  private sum(): Value {
    let value = this.term();
    while (this.peek() === '+' || this.peek() === '-') {
      const sign = this.next() === '+' ? 1 : -1;
      const right = this.term();
      value = this.pointwise([value, right], (a, b) => (a === undefined || b === undefined ? undefined : a + sign * b));
    }
    return value;
  }

  private term(): Value {
    const token = this.next();
    if (/^\d/.test(token)) return Number(token);
    if (token === '[') {
      const items: Series[] = [];
      do items.push(this.series(this.sum()));
      while (this.peek() === ',' && this.next() === ',');
      this.expect(']');
      return items;
    }
    if (this.peek() !== '(') return this.query(token);
    this.expect('(');
    const args: Value[] = [this.sum()];
    while (this.peek() === ',') {
      this.next();
      args.push(this.sum());
    }
    this.expect(')');
    return this.call(token, args);
  }

  private call(name: string, args: Value[]): Value {
    const [first, second] = args;
    switch (name) {
      case 'FILL':
        return this.series(first).map((value) => value ?? (second as number));
      case 'DIFF': {
        let previous: number | undefined;
        return this.series(first).map((value) => {
          const diff = value === undefined || previous === undefined ? undefined : value - previous;
          if (value !== undefined) previous = value;
          return diff;
        });
      }
      case 'MAX': {
        if (!Array.isArray(first) || !Array.isArray(first[0])) throw new Error('MAX over one series gives a scalar: not modelled');
        const list = first as Series[];
        return Array.from({ length: this.length }, (_, index) => {
          const present = list.map((series) => series[index]).filter((value): value is number => value !== undefined);
          return present.length === 0 ? undefined : Math.max(...present);
        });
      }
      default:
        throw new Error(`function ${name} not modelled`);
    }
  }

  private pointwise(values: Value[], combine: (a: number | undefined, b: number | undefined) => number | undefined): Series {
    const [a, b] = values.map((value) => (typeof value === 'number' ? Array<number>(this.length).fill(value) : this.series(value)));
    return Array.from({ length: this.length }, (_, index) => combine(a?.[index], b?.[index]));
  }

  private series(value: Value | undefined): Series {
    if (!Array.isArray(value) || Array.isArray(value[0])) throw new Error('a time series was expected');
    return value as Series;
  }

  private peek(): string | undefined {
    return this.tokens[this.position];
  }

  private next(): string {
    const token = this.tokens[this.position];
    if (token === undefined) throw new Error('the expression ends too soon');
    this.position += 1;
    return token;
  }

  private expect(token: string): void {
    if (this.next() !== token) throw new Error(`expected ${token}`);
  }
}
