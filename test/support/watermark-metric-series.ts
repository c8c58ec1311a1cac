import { loaderEmfLine } from '../../loader/lambda/emf.js';
import type { LoadSummary } from '../../loader/run-loader.js';
import { warehouseWatermark, serializeWatermark, type StoredShardWatermark } from '../../contracts/watermark.js';
import { METRIC } from '../../platform/metrics.js';
import { decodeRecords } from '../../stream-processors/decode-records.js';
import type { Datapoint } from './cloudwatch-alarm-evaluator.js';

/**
 * The `warehouseWatermarkAgeMs` datapoints the AWS pipeline publishes over hours, in simulated time
 * (the real pipeline runs it in seconds: test/integration/watermark-pipeline.test.ts), built from
 * the real pieces: every heartbeat the capture writes a watermark record to every open shard
 * (serializeWatermark); the processor turns a shard's records into its manifest's watermark
 * (decodeRecords) after the event-source mapping's delay; each loader run loads the manifests
 * written before it ends, keeps the newest watermark per shard (as its ledger does), and at the end
 * of its run computes the warehouse watermark (warehouseWatermark: the minimum over the open shards)
 * and writes its EMF line (loaderEmfLine), whose timestamp and value become the datapoint.
 *
 * The loader is the AWS one: a run per schedule tick, draining until tick + drainWindowMs, each
 * run's last load ending `runEndDelayMs(tick)` after that (0 for a one-pass run's instant end).
 */
export interface PipelineSimulation {
  startMs: number;
  endMs: number;
  shards: readonly string[];
  heartbeatIntervalMs: number;
  /** Heartbeat → its watermark in a manifest (mapping's polling + batching window + the processor). */
  processorDelayMs: number;
  /** Loader schedule: rate(tickMs), the first tick at tickOffsetMs past startMs. */
  tickMs: number;
  tickOffsetMs?: number;
  /** How long a run drains (0: one pass). The schedule handler's deadline counts from the tick. */
  drainWindowMs: number;
  /** Extra time after the drain window before a run's summary is written (the load in progress, the final queries). */
  runEndDelayMs?: (tickMs: number, run: number) => number;
  /** Metric lines a run writes while it drains, every this many ms (0: only its end-of-run line). */
  metricEveryMs?: number;
  /** A stage that stops at an instant (and stays stopped). */
  stops?: { capture?: number; loader?: number; processorShard?: { shardId: string; atMs: number } };
}

export function watermarkAgeSeries(sim: PipelineSimulation): Datapoint[] {
  // Capture → stream → processor: each shard's manifests, with the watermark each carries.
  const manifests: { writtenAtMs: number; watermark: StoredShardWatermark }[] = [];
  for (let ts = sim.startMs; ts < sim.endMs; ts += sim.heartbeatIntervalMs) {
    if (sim.stops?.capture !== undefined && ts >= sim.stops.capture) break;
    sim.shards.forEach((shardId, i) => {
      const writtenAtMs = ts + sim.processorDelayMs;
      const stuck = sim.stops?.processorShard;
      if (stuck && stuck.shardId === shardId && writtenAtMs >= stuck.atMs) return;
      const data = Buffer.from(serializeWatermark({ ts: new Date(ts).toISOString(), lsn: `0/${(ts / 1000).toString(16).toUpperCase()}`, openShards: [...sim.shards] }));
      const decoded = decodeRecords([{ shardId, sequenceNumber: `${ts}${i}`, data, arrivalMs: ts }]);
      const w = decoded.watermarks.get(shardId)!;
      manifests.push({ writtenAtMs, watermark: { shardId: w.shardId, ts: new Date(w.ts), openShards: w.openShards } });
    });
  }
  manifests.sort((a, b) => a.writtenAtMs - b.writtenAtMs);

  // The loader: per tick a run; metric lines while it drains (optional) and at its end.
  const points: Datapoint[] = [];
  const stored = new Map<string, StoredShardWatermark>();
  let next = 0;
  const reportAt = (nowMs: number) => {
    // The ledger as of `nowMs`: every manifest written before it, the newest watermark per shard.
    for (; next < manifests.length && manifests[next]!.writtenAtMs <= nowMs; next++) {
      const { watermark } = manifests[next]!;
      const current = stored.get(watermark.shardId);
      if (!current || current.ts < watermark.ts) stored.set(watermark.shardId, watermark);
    }
    const watermark = warehouseWatermark([...stored.values()]);
    const summary = { schema: 'star', status: 'completed', rowsLoaded: 0, manifestsLoaded: 0, manifestsFailed: 0, freshnessMs: null, watermarkAgeMs: watermark ? nowMs - watermark.getTime() : null } as unknown as LoadSummary;
    const emf = JSON.parse(loaderEmfLine(summary, nowMs)) as { _aws: { Timestamp: number } } & Record<string, number | undefined>;
    const value = emf[METRIC.warehouseWatermarkAgeMs];
    if (value !== undefined) points.push({ timestampMs: emf._aws.Timestamp, value });
  };
  // A loader that stops (killed, hung, no access) writes nothing from then on.
  const until = Math.min(sim.endMs, sim.stops?.loader ?? Infinity);
  let run = 0;
  for (let tick = sim.startMs + (sim.tickOffsetMs ?? 0); tick < until; tick += sim.tickMs, run++) {
    const endMs = tick + sim.drainWindowMs + (sim.runEndDelayMs?.(tick, run) ?? 0);
    if (sim.metricEveryMs) for (let at = tick + sim.metricEveryMs; at < endMs && at < until; at += sim.metricEveryMs) reportAt(at);
    if (endMs < until) reportAt(endMs);
  }
  return points;
}
