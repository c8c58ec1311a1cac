import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Observability } from '../../infra/constructs/observability.js';
import { WATERMARK_METRIC_INTERVAL_MS } from '../../loader/lambda/schedule-handler.js';
import { alarmRuleOf, evaluateSeries, type Evaluation, type MetricAlarmRule } from '../support/cloudwatch-alarm-evaluator.js';
import { importedObservabilityProps, useUnvalidatedApps } from '../support/cdk-test-apps.js';
import { mulberry32 } from '../support/seeded-random.js';
import { watermarkAgeSeries, type PipelineSimulation } from '../support/watermark-metric-series.js';

/**
 * Issue 12: "the alarm fires on a stuck stage and not on a quiet source", checked on the rule the
 * stack synthesizes (period, evaluation periods, datapoints to alarm, threshold, missing-data
 * treatment, from Template.fromStack), evaluated with CloudWatch's M-of-N semantics
 * (test/support/cloudwatch-alarm-evaluator.ts) against hours of the loader's watermark-age metric
 * (test/support/watermark-metric-series.ts: the real watermark records, decode, minimum over open
 * shards and EMF line). The pipeline as deployed: 4 shards (on-demand's start), a heartbeat every
 * 10 s (the default), the loader on rate(1 minute) draining 58 s.
 */
const newApp = useUnvalidatedApps();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
// A Monday 00:00 UTC; periods align to the minute.
const START = Date.parse('2026-12-07T00:00:00.000Z');
const SHARDS = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'];

let rule: MetricAlarmRule;
beforeAll(() => {
  const stack = new Stack(newApp(), 'T', { env: { account: '123456789012', region: 'eu-west-2' } });
  // The stack's Observability props, defaults for everything the alarm rule depends on.
  new Observability(stack, 'Observability', importedObservabilityProps(stack));
  const alarms = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'warehouseWatermarkAgeMs' } });
  const [id, alarm] = Object.entries(alarms)[0]!;
  expect(Object.keys(alarms), 'one alarm on the watermark age').toHaveLength(1);
  expect(id).toMatch(/^ObservabilityWarehouseStale/);
  rule = alarmRuleOf(alarm.Properties);
});

const deployed = (over: Partial<PipelineSimulation> = {}): PipelineSimulation => ({
  startMs: START,
  endMs: START + 3 * HOUR,
  shards: SHARDS,
  heartbeatIntervalMs: 10_000,
  processorDelayMs: 2_000,
  tickMs: MINUTE,
  tickOffsetMs: 17_000,
  drainWindowMs: 58_000,
  runEndDelayMs: () => 500,
  // The loader Lambda's lines while it drains (schedule-handler.ts), besides its end-of-run line.
  metricEveryMs: WATERMARK_METRIC_INTERVAL_MS,
  ...over,
});

/** Evaluations from `fromMs` on (before it, the alarm was created or the pipeline was starting). */
function evaluate(sim: PipelineSimulation, fromMs: number, evaluationRangePeriods?: number): Evaluation[] {
  const all = evaluateSeries(rule, watermarkAgeSeries(sim), { fromMs: sim.startMs, toMs: sim.endMs, evaluationRangePeriods });
  return all.filter((e) => e.atMs > fromMs);
}
const firstAlarm = (evaluations: Evaluation[]) => evaluations.find((e) => e.state === 'ALARM')?.atMs;
/** The longest a stuck stage may go unnoticed: the age must pass the threshold, then M breaching periods of N, plus the period in progress. */
const detectionBoundMs = () => rule.threshold + (rule.evaluationPeriods + 1) * rule.periodSeconds * 1000;

describe('WarehouseStale on the synthesized rule', () => {
  it('watches the watermark age with a missing-data treatment that catches a silent loader', () => {
    expect(rule).toMatchObject({ statistic: 'Maximum', comparisonOperator: 'GreaterThanThreshold', treatMissingData: 'breaching' });
    // Minutes of slack over the heartbeat (10 s) and the pipeline's seconds of latency.
    expect(rule.threshold).toBeGreaterThanOrEqual(2 * MINUTE);
  });

  it('a quiet source (only heartbeats) never alarms, whatever second of the minute the schedule ticks at and however long a run ends late', () => {
    const random = mulberry32(12);
    for (let offsetS = 0; offsetS < 60; offsetS += 2) {
      // A run's last load and final queries end 0-3 s after its drain window (uniformly): the end-of-run
      // datapoint falls in the next minute now and then.
      const sim = deployed({ endMs: START + 2 * HOUR, tickOffsetMs: offsetS * 1000, runEndDelayMs: () => random() * 3_000 });
      const evaluations = evaluate(sim, START + 15 * MINUTE);
      expect(evaluations.length).toBeGreaterThan(100);
      expect(firstAlarm(evaluations), `ticks at second ${offsetS}`).toBeUndefined();
    }
  });

  it('with one line per run only (the loader before WATERMARK_METRIC_INTERVAL_MS), a quiet source alarms when the runs end near the minute', () => {
    // The reason the draining loader writes the age while it drains: a run ending 0-3 s after its
    // 58 s drain puts its one datapoint in the next minute now and then; an empty 1-minute period is
    // breaching, and three of them in five periods are an alarm on a healthy pipeline.
    const random = mulberry32(7);
    const evaluations = evaluate(deployed({ tickOffsetMs: 1_000, runEndDelayMs: () => random() * 3_000, metricEveryMs: 0 }), START + 15 * MINUTE);
    expect(firstAlarm(evaluations)).toBeDefined();
  });

  it('a quiet source with the one-pass loader (drain window 0) never alarms either', () => {
    const evaluations = evaluate(deployed({ drainWindowMs: 0, runEndDelayMs: () => 1_500 }), START + 15 * MINUTE);
    expect(firstAlarm(evaluations)).toBeUndefined();
  });

  for (const [stage, stops] of [
    ['the capture (no heartbeats)', (at: number) => ({ capture: at })],
    ['the processor of one shard of four', (at: number) => ({ processorShard: { shardId: SHARDS[2]!, atMs: at } })],
    ['the loader (no metric at all)', (at: number) => ({ loader: at })],
  ] as const) {
    it(`a stuck stage alarms within the rule's window: ${stage}`, () => {
      const stuckAt = START + HOUR + 23_456;
      // CloudWatch retrieves more periods than EvaluationPeriods when data is missing; how many is not published: 5 to 10.
      for (const range of [rule.evaluationPeriods, 2 * rule.evaluationPeriods]) {
        const evaluations = evaluate(deployed({ stops: stops(stuckAt) }), START + 15 * MINUTE, range);
        const alarmAt = firstAlarm(evaluations);
        expect(alarmAt, `range ${range}`).toBeDefined();
        expect(alarmAt! - stuckAt, `range ${range}`).toBeLessThanOrEqual(detectionBoundMs() + (range - rule.evaluationPeriods) * MINUTE);
        // Not before the stage stopped, and it stays in ALARM while the stage is stuck.
        expect(alarmAt!).toBeGreaterThan(stuckAt);
        expect(evaluations.filter((e) => e.atMs >= alarmAt!).every((e) => e.state === 'ALARM'), `range ${range}`).toBe(true);
      }
    });
  }
});
