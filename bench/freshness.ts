/**
 * End-to-end freshness: the whole local pipeline (capture child → local log → processor →
 * Parquet → loader → warehouse) under a steady simulated workload; reports p50/p99 of
 * commit → loaded latency per fact row, measured in the warehouse (loaded_at − commit_ts).
 * Goal: p99 ≤ 2 s at 1,000 row changes/s. Baseline: the same latency of a direct trigger-free
 * poll would be the ETL's 10–30 min; printed for scale, not measured.
 * Usage: npm run bench:freshness  (BENCH_RATE=340 changes/s ≈ 1,000 row changes/s, BENCH_SECONDS=60)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { openDatabases } from '../runtime/databases.js';
import { runUpPipeline } from '../runtime/up-pipeline.js';

const RATE = Number(process.env.BENCH_RATE ?? 340);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP_SECONDS = 10;

const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-freshness-'));
const config = loadConfig({ stateDir, loaderIntervalMs: 250, logLevel: 'warn' }, {});
const logger = createLogger({ service: 'bench-freshness', level: 'warn' });
const dbs = await openDatabases(config, logger, { exclusive: true, command: 'bench' });
const abort = new AbortController();
let measureFrom = '';
const running = runUpPipeline({
  config,
  sourceUrl: dbs.sourceUrl,
  warehouseUrl: dbs.warehouseUrl,
  embeddedSource: true,
  logger,
  signal: abort.signal,
  simulate: { ratePerSecond: RATE, seed: 7 },
  seed: { scale: 1, seed: 1 },
  captureOutput: process.stderr,
  onRunning: () => {
    setTimeout(() => (measureFrom = new Date().toISOString()), WARMUP_SECONDS * 1000);
    setTimeout(() => abort.abort(), (WARMUP_SECONDS + SECONDS) * 1000);
  },
});
const counters = await running;
const client = new pg.Client({ connectionString: dbs.warehouseUrl });
await client.connect();
const { rows } = await client.query(
  `WITH latency AS (
     SELECT extract(epoch FROM (loaded_at - commit_ts)) * 1000 AS ms FROM star.fact_sales_order WHERE commit_ts >= $1
     UNION ALL SELECT extract(epoch FROM (loaded_at - commit_ts)) * 1000 FROM star.fact_purchase_order WHERE commit_ts >= $1
     UNION ALL SELECT extract(epoch FROM (loaded_at - commit_ts)) * 1000 FROM star.fact_payment WHERE commit_ts >= $1)
   SELECT count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
          percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max FROM latency`,
  [measureFrom],
);
await client.end();
await dbs.close();
await fs.rm(stateDir, { recursive: true, force: true });

const r = rows[0];
const rowChangesPerSec = counters.processor.events / (WARMUP_SECONDS + SECONDS);
console.log('\nfreshness: commit → warehouse, whole local pipeline');
console.table({
  workload: { value: `${RATE} simulated changes/s ≈ ${rowChangesPerSec.toFixed(0)} row change events/s` },
  'fact rows measured': { value: r.n },
  'p50 latency': { value: `${Math.round(r.p50)} ms` },
  'p99 latency': { value: `${Math.round(r.p99)} ms` },
  'max latency': { value: `${Math.round(r.max)} ms` },
  'goal p99 ≤ 2000 ms': { value: r.p99 <= 2000 ? 'met' : 'NOT met' },
  'baseline: batch ETL polling every 10–30 min': { value: `mean ${Math.round(((10 + 30) / 2 / 2) * 60_000)} ms (half the poll interval)` },
});
