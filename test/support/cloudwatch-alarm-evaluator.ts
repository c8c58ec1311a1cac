/**
 * A small, pure model of how CloudWatch evaluates a metric alarm (no emulator exists), so tests
 * can replay a metric series against the rule the stack synthesizes:
 *  - datapoints are aggregated per period (aligned to the epoch, as CloudWatch aligns periods) with
 *    the alarm's statistic; a period without datapoints is MISSING;
 *  - at the end of every period the alarm looks at its evaluation range: the last
 *    `evaluationRangePeriods` periods (at least EvaluationPeriods; CloudWatch retrieves "more
 *    datapoints than Evaluation Periods", how many is not configurable, so tests pass it);
 *  - "M of N": ALARM when at least DatapointsToAlarm of the EvaluationPeriods datapoints breach,
 *    else OK. Missing data, as documented ("How alarm state is evaluated when data is missing"):
 *      1. every period of the range missing: breaching → ALARM, notBreaching → OK, ignore → the
 *         state stays, missing → INSUFFICIENT_DATA;
 *      2. at least N real datapoints in the range: the N most recent real ones decide, the
 *         treatment is not used;
 *      3. fewer than N real ones: the last N periods with their missing ones filled by the
 *         treatment (breaching counts as a breach; notBreaching, ignore and missing do not), plus
 *         every real datapoint of the range before them.
 * Not modelled: metric math, percentiles, anomaly detection, late-arriving data.
 */
export type ComparisonOperator = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
export type Statistic = 'Maximum' | 'Minimum' | 'Sum' | 'Average' | 'SampleCount';
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface MetricAlarmRule {
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparisonOperator: ComparisonOperator;
  treatMissingData: TreatMissingData;
  statistic: Statistic;
}

export interface Datapoint {
  timestampMs: number;
  value: number;
}

/** The rule of a synthesized AWS::CloudWatch::Alarm (its CloudFormation Properties). Throws for what this model does not cover. */
export function alarmRuleOf(properties: Record<string, unknown>): MetricAlarmRule {
  const p = properties as Record<string, any>;
  if (p.Metrics || p.ExtendedStatistic || p.ThresholdMetricId) throw new Error('alarmRuleOf: only single-metric alarms with a simple statistic are modelled');
  const rule: MetricAlarmRule = {
    periodSeconds: Number(p.Period),
    evaluationPeriods: Number(p.EvaluationPeriods),
    datapointsToAlarm: Number(p.DatapointsToAlarm ?? p.EvaluationPeriods),
    threshold: Number(p.Threshold),
    comparisonOperator: p.ComparisonOperator,
    // CloudFormation's default when the property is absent.
    treatMissingData: p.TreatMissingData ?? 'missing',
    statistic: p.Statistic,
  };
  if (!(rule.periodSeconds > 0) || !(rule.evaluationPeriods >= 1) || !(rule.datapointsToAlarm >= 1) || rule.datapointsToAlarm > rule.evaluationPeriods || Number.isNaN(rule.threshold)) {
    throw new Error(`alarmRuleOf: incomplete rule ${JSON.stringify(rule)}`);
  }
  return rule;
}

export function breaches(rule: Pick<MetricAlarmRule, 'comparisonOperator' | 'threshold'>, value: number): boolean {
  switch (rule.comparisonOperator) {
    case 'GreaterThanThreshold':
      return value > rule.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= rule.threshold;
    case 'LessThanThreshold':
      return value < rule.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= rule.threshold;
  }
}

/** One value per period of [fromMs, toMs) (aligned to the period), null where no datapoint fell. */
export function aggregatePeriods(rule: Pick<MetricAlarmRule, 'periodSeconds' | 'statistic'>, datapoints: readonly Datapoint[], fromMs: number, toMs: number): (number | null)[] {
  const periodMs = rule.periodSeconds * 1000;
  const first = Math.floor(fromMs / periodMs);
  const count = Math.ceil(toMs / periodMs) - first;
  const buckets: number[][] = Array.from({ length: Math.max(0, count) }, () => []);
  for (const d of datapoints) {
    const i = Math.floor(d.timestampMs / periodMs) - first;
    if (i >= 0 && i < buckets.length) buckets[i]!.push(d.value);
  }
  return buckets.map((values) => {
    if (values.length === 0) return null;
    switch (rule.statistic) {
      case 'Maximum':
        return Math.max(...values);
      case 'Minimum':
        return Math.min(...values);
      case 'Sum':
        return values.reduce((a, b) => a + b, 0);
      case 'Average':
        return values.reduce((a, b) => a + b, 0) / values.length;
      case 'SampleCount':
        return values.length;
    }
  });
}

/**
 * The state after one evaluation of `range` (per-period values, oldest first, null = missing;
 * its length is the evaluation range, at least evaluationPeriods).
 */
export function evaluateRange(rule: MetricAlarmRule, range: readonly (number | null)[], previous: AlarmState): AlarmState {
  const n = rule.evaluationPeriods;
  if (range.length < n) throw new Error(`evaluateRange: the range (${range.length}) is shorter than EvaluationPeriods (${n})`);
  const real = range.filter((v): v is number => v !== null);
  if (real.length === 0) {
    switch (rule.treatMissingData) {
      case 'breaching':
        return 'ALARM';
      case 'notBreaching':
        return 'OK';
      case 'ignore':
        return previous;
      case 'missing':
        return 'INSUFFICIENT_DATA';
    }
  }
  let breaching: number;
  if (real.length >= n) {
    breaching = real.slice(-n).filter((v) => breaches(rule, v)).length;
  } else {
    const last = range.slice(-n);
    const before = range.slice(0, -n).filter((v): v is number => v !== null);
    breaching =
      before.filter((v) => breaches(rule, v)).length +
      last.filter((v) => (v === null ? rule.treatMissingData === 'breaching' : breaches(rule, v))).length;
  }
  return breaching >= rule.datapointsToAlarm ? 'ALARM' : 'OK';
}

export interface Evaluation {
  /** End of the period just evaluated (epoch ms). */
  atMs: number;
  state: AlarmState;
}

/**
 * Evaluates the alarm at the end of every period in [fromMs, toMs), starting from
 * INSUFFICIENT_DATA as a new alarm does. Periods before fromMs count too (the range looks back).
 */
export function evaluateSeries(rule: MetricAlarmRule, datapoints: readonly Datapoint[], options: { fromMs: number; toMs: number; evaluationRangePeriods?: number }): Evaluation[] {
  const periodMs = rule.periodSeconds * 1000;
  const rangePeriods = Math.max(rule.evaluationPeriods, options.evaluationRangePeriods ?? rule.evaluationPeriods);
  const firstEnd = (Math.floor(options.fromMs / periodMs) + 1) * periodMs;
  const lookbackFrom = firstEnd - rangePeriods * periodMs;
  const periods = aggregatePeriods(rule, datapoints, lookbackFrom, options.toMs);
  const out: Evaluation[] = [];
  let state: AlarmState = 'INSUFFICIENT_DATA';
  for (let end = firstEnd, i = rangePeriods; end <= options.toMs; end += periodMs, i++) {
    state = evaluateRange(rule, periods.slice(i - rangePeriods, i), state);
    out.push({ atMs: end, state });
  }
  return out;
}
