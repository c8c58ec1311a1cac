/**
 * End-to-end freshness: the whole local pipeline (capture child → local log → processor →
 * Parquet → loader → warehouse) under a steady simulated workload, measured after the initial
 * snapshot has been loaded; reports p50/p99 of commit → loaded latency per fact row, measured in the
 * warehouse (loaded_at − commit_ts). Goal: p99 ≤ 2 s at 1,000 row changes/s.
 * The workload: the simulator (BENCH_RATE changes/s, default 100 ≈ 220 row changes/s) plus
 * BENCH_BULK_ROWS_PER_SEC sales_order updates (default 800, in 10 transactions a second) ≈ 1,000
 * row changes/s in total; one simulator alone cannot reach that on 2 cores. BENCH_SECONDS, default 60.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { createPostgresClient } from '../platform/postgres-client.js';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { openDatabases } from '../runtime/databases.js';
import { runUpPipeline } from '../runtime/up-pipeline.js';
import type { PipelineCounters } from '../runtime/pipeline-counters.js';
import { runSimulator } from '../totesys/simulator/run-simulator.js';
import { steadyUpdates } from './steady-updates.js';

/** Realistic mix from the workload simulator (new orders, paid flips, silent updates, deletes)… */
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SIMULATORS = Number(process.env.BENCH_SIMULATORS ?? 1);
/** …plus plain sales_order updates, 10 transactions a second, to reach the target row-change rate. */
const BULK_ROWS_PER_SEC = Number(process.env.BENCH_BULK_ROWS_PER_SEC ?? 800);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP_SECONDS = 5;

const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-freshness-'));
const config = loadConfig({ stateDir, loaderIntervalMs: 250, logLevel: 'warn' }, {});
const logger = createLogger({ service: 'bench-freshness', level: 'warn' });
const dbs = await openDatabases(config, logger, { exclusive: true, command: 'bench' });
const abort = new AbortController();
let counters: PipelineCounters | undefined;
const pipeline = runUpPipeline({
  config,
  sourceUrl: dbs.sourceUrl,
  warehouseUrl: dbs.warehouseUrl,
  embeddedSource: true,
  logger,
  signal: abort.signal,
  simulate: null,
  seed: { scale: 1, seed: 1 },
  captureOutput: process.stderr,
  onRunning: (c) => (counters = c),
});

const source = createPostgresClient({ url: dbs.sourceUrl, applicationName: 'totesys-cdc-bench' });
const warehouse = createPostgresClient({ url: dbs.warehouseUrl, applicationName: 'totesys-cdc-bench' });
const count = async (client: pg.Client, sql: string) => Number((await client.query(sql).catch(() => ({ rows: [{ n: -1 }] }))).rows[0].n);
try {
  while (!counters) await sleep(200);
  await source.connect();
  await warehouse.connect();
  // Steady state only: wait until the initial snapshot is in the warehouse.
  const payments = await count(source, 'SELECT count(*) AS n FROM payment');
  const snapshotStarted = Date.now();
  while ((await count(warehouse, 'SELECT count(*) AS n FROM star.fact_payment')) < payments) await sleep(500);
  const snapshotSeconds = (Date.now() - snapshotStarted) / 1000;
  const eventsBefore = counters.processor.events;
  const measureFrom = new Date(Date.now() + WARMUP_SECONDS * 1000).toISOString();
  const durationMs = (WARMUP_SECONDS + SECONDS) * 1000;
  const [runs] = await Promise.all([
    Promise.all(
      Array.from({ length: SIMULATORS }, (_, i) => runSimulator(dbs.sourceUrl, { ratePerSecond: RATE / SIMULATORS, durationMs, seed: 7 + i, logger })),
    ),
    steadyUpdates(dbs.sourceUrl, BULK_ROWS_PER_SEC, durationMs),
  ]);
  const simulated = { changes: runs.reduce((n, r) => n + r.changes, 0), durationMs: Math.max(...runs.map((r) => r.durationMs)) };
  const rowEventsPerSec = (counters.processor.events - eventsBefore) / (WARMUP_SECONDS + SECONDS);
  await sleep(5_000); // let the last changes arrive
  const { rows } = await warehouse.query(
    `WITH latency AS (
       SELECT extract(epoch FROM (loaded_at - commit_ts)) * 1000 AS ms FROM star.fact_sales_order WHERE commit_ts >= $1
       UNION ALL SELECT extract(epoch FROM (loaded_at - commit_ts)) * 1000 FROM star.fact_purchase_order WHERE commit_ts >= $1
       UNION ALL SELECT extract(epoch FROM (loaded_at - commit_ts)) * 1000 FROM star.fact_payment WHERE commit_ts >= $1)
     SELECT count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max FROM latency`,
    [measureFrom],
  );
  const r = rows[0];
  // Where the time goes: commit → manifest written (capture + stream + processor) → loaded.
  const { rows: stages } = await warehouse.query(
    `SELECT count(*)::int AS batches,
            avg(extract(epoch FROM (manifest_created_at - max_commit_ts)) * 1000) AS to_manifest_ms,
            avg(extract(epoch FROM (loaded_at - manifest_created_at)) * 1000) AS to_load_ms
       FROM star.load_ledger WHERE max_commit_ts >= $1`,
    [measureFrom],
  );
  const st = stages[0];
  console.log('\nfreshness: commit → warehouse through the whole local pipeline (steady state after the snapshot)');
  console.table({
    'initial snapshot loaded in': { value: `${snapshotSeconds.toFixed(1)} s` },
    workload: { value: `${(simulated.changes / (simulated.durationMs / 1000)).toFixed(0)} simulated changes/s + ${BULK_ROWS_PER_SEC} updates/s = ${rowEventsPerSec.toFixed(0)} row change events/s` },
    'fact rows measured': { value: r.n },
    'p50 latency': { value: `${Math.round(r.p50)} ms` },
    'p99 latency': { value: `${Math.round(r.p99)} ms` },
    'max latency': { value: `${Math.round(r.max)} ms` },
    'mean commit → manifest written (capture, stream, processor)': { value: `${Math.round(st.to_manifest_ms)} ms over ${st.batches} batches` },
    'mean manifest written → loaded (loader)': { value: `${Math.round(st.to_load_ms)} ms` },
    'goal p99 ≤ 2000 ms': { value: r.p99 <= 2000 ? 'met' : 'NOT met' },
    'baseline: batch ETL polling every 10–30 min': { value: 'average wait 5–15 min (half the interval) before any change is even read' },
  });
} finally {
  abort.abort();
  await pipeline.catch((error) => console.error(error));
  await source.end().catch(() => undefined);
  await warehouse.end().catch(() => undefined);
  await dbs.close();
  await fs.rm(stateDir, { recursive: true, force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
