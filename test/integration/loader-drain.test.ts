import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../platform/logger.js';
import { drainDeadline, TIMEOUT_RESERVE_MS } from '../../loader/lambda/schedule-handler.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, salesFact, writeBatch, type ProcessedBucket } from '../support/processed-batch-factory.js';

/**
 * Issue 12, item 1: the scheduled loader drains (keeps loading new manifests until shortly before
 * the next tick). Runs against a real Postgres; the crash test kills a real handler process.
 */
const ROWS_PER_MANIFEST = 200;

/** Manifest times that are real (now) and strictly increasing, as one processor writes them. */
let lastMs = 0;
const manifestTime = () => new Date((lastMs = Math.max(Date.now(), lastMs + 1))).toISOString();

async function writeSalesBatch(bucket: ProcessedBucket, n: number) {
  const rows = Array.from({ length: ROWS_PER_MANIFEST }, (_, i) => salesFact(n * ROWS_PER_MANIFEST + i + 1, BigInt(1000 + n), { source_seq: i }));
  return writeBatch(bucket.store, { fact_sales_order: rows }, { createdAt: manifestTime() });
}

describe('draining loader', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const secretFor = (url: string) => {
    const u = new URL(url);
    return JSON.stringify({ engine: 'postgres', host: u.hostname, port: Number(u.port), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), dbname: u.pathname.slice(1) });
  };

  beforeAll(async () => {
    db = await createTestDatabase('loader_drain');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('the drain ends at the window counted from the tick, before the timeout, or not at all (0 = one pass)', () => {
    const tick = Date.parse('2026-12-07T10:00:00Z');
    const eventTime = '2026-12-07T10:00:00Z';
    // On time: tick + window, 5 s before the next tick.
    expect(drainDeadline({ nowMs: tick + 300, eventTime, drainWindowMs: 55_000, remainingMs: 300_000 })).toBe(tick + 55_000);
    // Started late (a throttled retry): still ends before the next tick.
    expect(drainDeadline({ nowMs: tick + 50_000, eventTime, drainWindowMs: 55_000, remainingMs: 300_000 })).toBe(tick + 55_000);
    expect(drainDeadline({ nowMs: tick + 56_000, eventTime, drainWindowMs: 55_000, remainingMs: 300_000 })).toBeUndefined();
    // A short timeout caps it, leaving room for the load in progress.
    expect(drainDeadline({ nowMs: tick, eventTime, drainWindowMs: 55_000, remainingMs: 30_000 })).toBe(tick + 30_000 - TIMEOUT_RESERVE_MS);
    // Unknown or future tick (clock skew): counted from now.
    expect(drainDeadline({ nowMs: tick, eventTime: 'garbage', drainWindowMs: 1_000 })).toBe(tick + 1_000);
    expect(drainDeadline({ nowMs: tick, eventTime: '2026-12-07T10:00:09Z', drainWindowMs: 1_000 })).toBe(tick + 1_000);
    expect(drainDeadline({ nowMs: tick, eventTime, drainWindowMs: 0 })).toBeUndefined();
  });

  it('a draining run loads each manifest within a poll interval of its arrival, keeps the lock (no second run), and ends on time', async () => {
    const bucket = await createProcessedBucket();
    const schema = 'drain_poll';
    try {
      await loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger, maxManifests: 0 }); // migrate
      const written: { key: string; at: number }[] = [];
      const started = Date.now();
      // The window leaves room for the ten writes below on a loaded machine (they take 2.5 s when idle).
      const drainUntilMs = started + 12_000;
      const run = loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger, drainUntilMs, pollIntervalMs: 100 });
      let locked = 0;
      for (let n = 0; n < 10; n++) {
        await new Promise((r) => setTimeout(r, 250));
        const { manifestKey } = await writeSalesBatch(bucket, n);
        written.push({ key: manifestKey, at: Date.now() });
        // Never two runs at once: a run scheduled meanwhile finds the lock taken and does nothing.
        if (n === 5) locked = (await loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger })).status === 'locked' ? 1 : 0;
      }
      expect(written.at(-1)!.at).toBeLessThan(drainUntilMs - 1_000); // all written well inside the window
      const summary = await run;
      const ended = Date.now();
      expect(locked).toBe(1);
      expect(summary).toMatchObject({ status: 'completed', manifestsLoaded: 10, manifestsFailed: 0 });
      expect(summary.listings).toBeGreaterThan(10);
      expect(ended).toBeGreaterThanOrEqual(drainUntilMs);
      expect(ended - drainUntilMs).toBeLessThan(1_000);
      const { rows } = await pool.query<{ manifest_key: string; loaded_at: Date }>(`SELECT manifest_key, loaded_at FROM ${schema}.load_ledger`);
      const loadedAt = new Map(rows.map((r) => [r.manifest_key, r.loaded_at.getTime()]));
      const delays = written.map((w) => loadedAt.get(w.key)! - w.at);
      // Poll interval (100 ms) + one load; far below the one-pass loader's next tick.
      expect(Math.max(...delays)).toBeLessThan(1_000);
    } finally {
      await bucket.cleanup();
    }
  });

  it('two consecutive scheduled invocations, the first SIGKILLed mid-drain (inside a load), lose and double nothing', async () => {
    const bucket = await createProcessedBucket();
    const schema = 'drain_crash';
    let child: ChildProcess | undefined;
    try {
      await loadPendingManifests({ pool, processed: bucket.store, schema, logger: silentLogger, maxManifests: 0 }); // migrate
      // A processor writing a manifest every 40 ms for the whole test.
      let writing = true;
      const keys: string[] = [];
      const writer = (async () => {
        for (let n = 0; writing; n++) {
          keys.push((await writeSalesBatch(bucket, n)).manifestKey);
          await new Promise((r) => setTimeout(r, 40));
        }
      })();
      const invoke = () => {
        const proc = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/support/drain-loader-child.ts')], {
          env: { ...process.env, LOADER_SECRET: secretFor(db.url), LOADER_DIR: bucket.dir, TOTESYS_WAREHOUSE_SCHEMA: schema, TOTESYS_LOADER_DRAIN_WINDOW_MS: '30000', TOTESYS_LOADER_POLL_INTERVAL_MS: '100' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: () => string }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, out: () => out })));
        return { proc, exited };
      };
      const ledgerCount = async () => Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.load_ledger`)).rows[0].n);

      // Invocation 1: let it load some manifests, then kill it while a load transaction is open.
      const first = invoke();
      child = first.proc;
      let midLoad = false;
      for (let i = 0; i < 5_000 && !midLoad; i++) {
        if ((await ledgerCount()) >= 5) {
          const { rows } = await pool.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'totesys-cdc-loader' AND xact_start IS NOT NULL AND query ILIKE '%fact_sales_order%'`,
          );
          midLoad = rows.length > 0;
        }
        if (!midLoad) await new Promise((r) => setTimeout(r, 2));
      }
      first.proc.kill('SIGKILL');
      const killed = await first.exited;
      expect(killed.signal).toBe('SIGKILL');
      expect(midLoad).toBe(true);
      const loadedBeforeKill = await ledgerCount();
      expect(loadedBeforeKill).toBeGreaterThanOrEqual(5);

      // The server notices the dead session (its transaction rolls back, its advisory lock goes).
      for (let i = 0; i < 200; i++) {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'totesys-cdc-loader'`);
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      // Invocation 2 (the next tick): drains what the first left and what keeps arriving.
      const second = invoke();
      child = second.proc;
      await new Promise((r) => setTimeout(r, 2_000));
      writing = false;
      await writer;
      const expected = keys.length;
      for (let i = 0; i < 400 && (await ledgerCount()) < expected; i++) await new Promise((r) => setTimeout(r, 50));
      second.proc.kill('SIGTERM');
      await second.exited;

      const { rows: ledger } = await pool.query<{ manifest_key: string; n: number }>(`SELECT manifest_key, count(*)::int AS n FROM ${schema}.load_ledger GROUP BY 1`);
      expect(ledger.length).toBe(expected);
      expect(new Set(ledger.map((r) => r.manifest_key))).toEqual(new Set(keys));
      expect(ledger.every((r) => r.n === 1)).toBe(true);
      const { rows: facts } = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM ${schema}.fact_sales_order`);
      expect(facts[0]).toEqual({ n: expected * ROWS_PER_MANIFEST, distinct_ids: expected * ROWS_PER_MANIFEST });
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.load_failures`)).rows[0].n).toBe(0);
    } finally {
      child?.kill('SIGKILL');
      await bucket.cleanup();
    }
  }, 60_000);
});
