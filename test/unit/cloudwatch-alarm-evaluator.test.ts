import { describe, expect, it } from 'vitest';
import { aggregatePeriods, alarmRuleOf, evaluateRange, evaluateSeries, type MetricAlarmRule } from '../support/cloudwatch-alarm-evaluator.js';

// 3 of 5, > 10, like the stack's M-of-N alarms.
const rule = (treatMissingData: MetricAlarmRule['treatMissingData']): MetricAlarmRule => ({
  periodSeconds: 60,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  threshold: 10,
  comparisonOperator: 'GreaterThanThreshold',
  treatMissingData,
  statistic: 'Maximum',
});
const X = 11; // breaching
const O = 0; // not breaching
const _ = null; // missing

describe('CloudWatch M-of-N evaluation (test/support/cloudwatch-alarm-evaluator.ts)', () => {
  it('with every datapoint present: ALARM from M breaching of N, not consecutive, else OK', () => {
    for (const treat of ['breaching', 'notBreaching', 'ignore', 'missing'] as const) {
      expect(evaluateRange(rule(treat), [X, O, X, O, X], 'OK'), treat).toBe('ALARM');
      expect(evaluateRange(rule(treat), [X, X, O, O, O], 'ALARM'), treat).toBe('OK');
      expect(evaluateRange(rule(treat), [O, O, X, X, X], 'OK'), treat).toBe('ALARM');
    }
    // The threshold itself does not breach "greater than"; it does "greater than or equal".
    expect(evaluateRange(rule('missing'), [10, 10, 10, 10, 10], 'OK')).toBe('OK');
    expect(evaluateRange({ ...rule('missing'), comparisonOperator: 'GreaterThanOrEqualToThreshold' }, [10, 10, 10, O, O], 'OK')).toBe('ALARM');
    expect(evaluateRange({ ...rule('missing'), comparisonOperator: 'LessThanThreshold', threshold: 1 }, [O, O, O, X, X], 'OK')).toBe('ALARM');
  });

  it('with every datapoint missing: the treatment decides (ignore keeps the state)', () => {
    const silent = [_, _, _, _, _];
    expect(evaluateRange(rule('breaching'), silent, 'OK')).toBe('ALARM');
    expect(evaluateRange(rule('notBreaching'), silent, 'ALARM')).toBe('OK');
    expect(evaluateRange(rule('missing'), silent, 'OK')).toBe('INSUFFICIENT_DATA');
    expect(evaluateRange(rule('ignore'), silent, 'ALARM')).toBe('ALARM');
    expect(evaluateRange(rule('ignore'), silent, 'OK')).toBe('OK');
  });

  it('with some missing: breaching fills them as breaches, the others decide on the real datapoints', () => {
    expect(evaluateRange(rule('breaching'), [O, O, _, _, _], 'OK')).toBe('ALARM');
    expect(evaluateRange(rule('breaching'), [O, O, O, _, _], 'OK')).toBe('OK');
    expect(evaluateRange(rule('breaching'), [X, O, O, _, O], 'OK')).toBe('OK');
    expect(evaluateRange(rule('breaching'), [X, O, _, _, O], 'OK')).toBe('ALARM');
    expect(evaluateRange(rule('notBreaching'), [X, X, _, _, _], 'OK')).toBe('OK');
    expect(evaluateRange(rule('notBreaching'), [X, X, _, X, _], 'OK')).toBe('ALARM');
    expect(evaluateRange(rule('missing'), [_, _, O, _, _], 'ALARM')).toBe('OK');
    expect(evaluateRange(rule('missing'), [X, _, X, _, X], 'OK')).toBe('ALARM');
  });

  it('a longer evaluation range: N real datapoints in it decide alone, so a short gap is skipped over', () => {
    // 7 periods retrieved for N = 5: five real ones (all fine) → the three missing do not count.
    expect(evaluateRange(rule('breaching'), [O, O, O, O, _, _, O], 'OK')).toBe('OK');
    // Four real ones only: the last five periods are filled (three missing → breaches).
    expect(evaluateRange(rule('breaching'), [_, O, O, O, _, _, _], 'OK')).toBe('ALARM');
    // Real breaches before the last five still count when the range is short of real data.
    expect(evaluateRange(rule('notBreaching'), [X, X, _, O, X, _, _], 'OK')).toBe('ALARM');
    expect(() => evaluateRange(rule('breaching'), [O, O, O], 'OK')).toThrow(/shorter/);
  });

  it('aggregates datapoints per period with the statistic (missing: null)', () => {
    const points = [
      { timestampMs: 60_000 + 1, value: 3 },
      { timestampMs: 60_000 + 59_999, value: 7 },
      { timestampMs: 180_000, value: 5 },
    ];
    expect(aggregatePeriods({ periodSeconds: 60, statistic: 'Maximum' }, points, 60_000, 240_000)).toEqual([7, null, 5]);
    expect(aggregatePeriods({ periodSeconds: 60, statistic: 'Minimum' }, points, 60_000, 240_000)).toEqual([3, null, 5]);
    expect(aggregatePeriods({ periodSeconds: 60, statistic: 'Sum' }, points, 60_000, 240_000)).toEqual([10, null, 5]);
    expect(aggregatePeriods({ periodSeconds: 60, statistic: 'Average' }, points, 60_000, 240_000)).toEqual([5, null, 5]);
    expect(aggregatePeriods({ periodSeconds: 60, statistic: 'SampleCount' }, points, 60_000, 240_000)).toEqual([2, null, 1]);
  });

  it('evaluates a series at every period end, starting from INSUFFICIENT_DATA', () => {
    const minute = 60_000;
    // Fine for 5 minutes, then breaching for 3.
    const points = [0, 0, 0, 0, 0, X, X, X].map((value, i) => ({ timestampMs: i * minute + 30_000, value }));
    const states = evaluateSeries(rule('missing'), points, { fromMs: 0, toMs: 8 * minute }).map((e) => e.state);
    expect(states).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'ALARM']);
    // With missing = breaching, a new alarm on a metric that has not started yet is in ALARM.
    expect(evaluateSeries(rule('breaching'), [], { fromMs: 0, toMs: 2 * minute }).map((e) => e.state)).toEqual(['ALARM', 'ALARM']);
  });

  it('reads the rule of a synthesized alarm and refuses what it does not model', () => {
    expect(alarmRuleOf({ Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3, Threshold: 300000, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'breaching', Statistic: 'Maximum' })).toEqual({
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      threshold: 300000,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'breaching',
      statistic: 'Maximum',
    });
    // CloudFormation's defaults: DatapointsToAlarm = EvaluationPeriods, TreatMissingData = missing.
    expect(alarmRuleOf({ Period: 300, EvaluationPeriods: 2, Threshold: 1, ComparisonOperator: 'LessThanThreshold', Statistic: 'Minimum' })).toMatchObject({ datapointsToAlarm: 2, treatMissingData: 'missing' });
    expect(() => alarmRuleOf({ Metrics: [], EvaluationPeriods: 1, Threshold: 1 })).toThrow(/single-metric/);
    expect(() => alarmRuleOf({ Period: 60, EvaluationPeriods: 2, DatapointsToAlarm: 3, Threshold: 1, ComparisonOperator: 'LessThanThreshold', Statistic: 'Minimum' })).toThrow(/incomplete/);
  });
});
