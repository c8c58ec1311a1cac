import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../bucket/create-object-store.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { FACTS, type FactName } from '../../contracts/warehouse-model.js';
import { loadPendingManifests, type LoadSummary } from '../../loader/run-loader.js';
import { syncPipeline, type SyncSummary } from '../../runtime/sync-pipeline.js';
import { seedTotesys } from '../../totesys/generator/seed-totesys.js';
import { CHANGE_KINDS } from '../../totesys/simulator/change-mix.js';
import { runSimulator, type SimulatedChange, type SimulatorSummary } from '../../totesys/simulator/run-simulator.js';
import { captureAndProcess } from '../support/capture-and-process.js';
import { CLI, REPO_ROOT } from '../support/cli.js';
import {
  COMPARED_DIMENSIONS, datesReferencedByFacts, deletedDimensionKeys, diffRowSets, expectedCurrentFacts, expectedDimDate,
  expectedDimensions, warehouseCurrentFacts, warehouseDimDate, warehouseDimensions, type RowSet,
} from '../support/expected-star-schema.js';
import { FactVersionExpectations, warehouseFactVersions } from '../support/fact-version-expectations.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { dumpWarehouse } from '../support/warehouse-dump.js';

/**
 * Issue 5 "Done when": totesys → capture → local log → processor → loader gives the warehouse the
 * star schema computed independently from the source, every fact version exactly once — after a
 * normal sync, after the loader is SIGKILLed mid-load, and after every manifest is loaded twice.
 */
const SCHEMA = 'star';
const SEED = 3;


function expectSameRows(label: string, expected: RowSet, actual: RowSet): void {
  const diff = diffRowSets(expected, actual);
  expect(diff, `${label}: warehouse differs from the expectation computed on the source`).toEqual({
    expected: expected.length,
    actual: expected.length,
    missing: [],
    unexpected: [],
  });
}

async function manifestKeys(config: Readonly<Config>): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of createObjectStore(config, 'processed').list('manifests/')) if (object.key.endsWith('.json')) keys.push(object.key);
  return keys;
}

async function quarantinedObjects(config: Readonly<Config>): Promise<number> {
  let n = 0;
  for await (const _ of createObjectStore(config, 'processed').list('quarantine/')) n++;
  return n;
}

describe('pipeline end to end: exactly-once star schema', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let config: Readonly<Config>;
  const versions = new FactVersionExpectations();
  const changes: SimulatedChange[] = [];
  let firstSync: SyncSummary;
  let secondSync: SyncSummary;
  let workload: SimulatorSummary;

  // The first sync archives on a thread of its own (as a large one does), the second on this one.
  const sync = (archiverThreadMinRecords?: number) => syncPipeline({ config, sourceUrl: source.url, warehouseUrl: warehouse.url, logger: silentLogger, archiverThreadMinRecords });
  const simulate = (changeCount: number, seed: number) =>
    runSimulator(source.url, {
      ratePerSecond: 5_000,
      changes: changeCount,
      seed,
      onChange: (change) => {
        changes.push(change);
        versions.recordChange(change);
      },
    });

  /** Every check of the warehouse against the source; `when` names the phase in failure messages. */
  async function expectWarehouseMatchesSource(when: string): Promise<void> {
    await withClient(source.url, async (src) => {
      await withClient(warehouse.url, async (wh) => {
        // Dimensions: the live rows are exactly the current source rows (joined where §5 joins).
        const [wantDims, haveDims] = [await expectedDimensions(src), await warehouseDimensions(wh, SCHEMA)];
        for (const dim of COMPARED_DIMENSIONS) expectSameRows(`${when} ${dim}`, wantDims[dim], haveDims[dim]);

        // Deleted source rows stay in their dimension, flagged; every flagged key is really gone.
        const deletedTransactions = changes.filter((c) => c.kind === 'delete_unpaid_order').flatMap((c) => c.rows.filter((r) => r.table === 'transaction').map((r) => r.id));
        const flagged = await deletedDimensionKeys(wh, SCHEMA, 'dim_transaction');
        expect(flagged, `${when}: deleted transactions flagged is_deleted`).toEqual([...new Set(deletedTransactions)].sort((a, b) => a - b));
        for (const dim of COMPARED_DIMENSIONS) {
          if (dim !== 'dim_transaction') expect(await deletedDimensionKeys(wh, SCHEMA, dim), `${when}: ${dim} has no deleted rows`).toEqual([]);
        }
        const inferred = await wh.query(
          `SELECT (SELECT count(*) FROM star.dim_staff WHERE version_lsn = 0) + (SELECT count(*) FROM star.dim_counterparty WHERE version_lsn = 0)
             + (SELECT count(*) FROM star.dim_location WHERE version_lsn = 0) + (SELECT count(*) FROM star.dim_design WHERE version_lsn = 0)
             + (SELECT count(*) FROM star.dim_currency WHERE version_lsn = 0) + (SELECT count(*) FROM star.dim_transaction WHERE version_lsn = 0)
             + (SELECT count(*) FROM star.dim_payment_type WHERE version_lsn = 0) AS n`,
        );
        expect(Number(inferred.rows[0].n), `${when}: every inferred member was completed by its real row`).toBe(0);

        // Current state of each fact = the source table.
        const [wantFacts, haveFacts] = [await expectedCurrentFacts(src), await warehouseCurrentFacts(wh, SCHEMA)];
        for (const fact of FACTS) expectSameRows(`${when} ${fact}_current`, wantFacts[fact], haveFacts[fact]);

        // History: every version exactly once, in commit order, ending in 'd' for deleted rows.
        for (const fact of FACTS) expectSameRows(`${when} ${fact} versions`, versions.expected(fact), await warehouseFactVersions(wh, SCHEMA, fact));
        const ids = await wh.query(
          `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM (
             SELECT event_id FROM star.fact_sales_order UNION ALL SELECT event_id FROM star.fact_purchase_order
             UNION ALL SELECT event_id FROM star.fact_payment) e`,
        );
        expect(ids.rows[0].distinct_ids, `${when}: event ids unique across all facts`).toBe(ids.rows[0].n);

        // dim_date: exactly the referenced dates (source's current ones included), each with the right calendar.
        const referenced = await datesReferencedByFacts(wh, SCHEMA);
        const sourceDates = await src.query(
          `SELECT DISTINCT d::date::text AS d FROM (
             SELECT unnest(ARRAY[created_at::date::text, last_updated::date::text, agreed_payment_date, agreed_delivery_date]) AS d FROM sales_order
             UNION ALL SELECT unnest(ARRAY[created_at::date::text, last_updated::date::text, agreed_payment_date, agreed_delivery_date]) FROM purchase_order
             UNION ALL SELECT unnest(ARRAY[created_at::date::text, last_updated::date::text, payment_date]) FROM payment) x`,
        );
        const referencedSet = new Set(referenced);
        expect(sourceDates.rows.map((r) => r.d as string).filter((d) => !referencedSet.has(d)), `${when}: source dates missing from facts`).toEqual([]);
        expectSameRows(`${when} dim_date`, await expectedDimDate(src, referenced), await warehouseDimDate(wh, SCHEMA));
      });
    });
    expect(await quarantinedObjects(config), `${when}: nothing quarantined`).toBe(0);
  }

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('e2e source'), createTestDatabase('e2e warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-e2e-'));
    // Replication slots are cluster-wide: a name of our own keeps parallel test files apart.
    const slotName = `e2e_${randomBytes(4).toString('hex')}`;
    config = loadConfig(
      { stateDir, sourceUrl: source.url, warehouseUrl: warehouse.url, heartbeatIntervalMs: 1000, slotName, publicationName: slotName, logLevel: 'silent' },
      {},
    );
    const started = Date.now();
    await seedTotesys(source.url, { scale: 0.05, seed: SEED });
    firstSync = await sync(0);
    await withClient(source.url, (client) => versions.recordSnapshot(client));
    workload = await simulate(400, SEED + 1);
    secondSync = await sync();
    console.info('e2e setup', JSON.stringify({ ms: Date.now() - started, firstSyncMs: firstSync.durationMs, secondSyncMs: secondSync.durationMs, workload }));
  });

  afterAll(async () => {
    await source?.drop();
    await warehouse?.drop();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('the workload made every kind of change, and both syncs went through every stage', () => {
    expect(firstSync.capture.snapshotTaken).toBe(true);
    expect(firstSync.capture.snapshotRows).toBeGreaterThan(1_000);
    expect(workload.changes).toBeGreaterThan(300);
    for (const kind of CHANGE_KINDS) expect(workload.byKind[kind], `simulator made no ${kind}`).toBeGreaterThan(0);
    expect(changes.some((c) => c.kind === 'silent_update' && c.table === 'sales_order')).toBe(true);
    expect(secondSync.capture.snapshotTaken).toBe(false);
    expect(secondSync.capture.eventsPublished).toBeGreaterThanOrEqual(workload.changes);
    for (const summary of [firstSync, secondSync]) {
      // Every record the sync captured is archived (on the archiver's thread in the first sync).
      expect(summary.archiver.records).toBeGreaterThanOrEqual(summary.capture.eventsPublished + summary.capture.reconcileRecords);
      expect(summary.loader.failures).toBe(0);
      expect(summary.loader.manifests).toBeGreaterThan(0);
      expect(summary.processor.quarantined).toBe(0);
    }
  });

  it('the archive holds every event both syncs captured, once', async () => {
    const ingestion = createObjectStore(config, 'ingestion');
    const ids: string[] = [];
    for await (const object of ingestion.list('changes/')) {
      for (const line of gunzipSync(await ingestion.get(object.key)).toString('utf8').split('\n').slice(0, -1)) {
        const record = JSON.parse(line) as { id?: string; kind?: string };
        if (record.kind === undefined) ids.push(record.id!);
      }
    }
    expect(ids.length).toBe(firstSync.capture.eventsPublished + secondSync.capture.eventsPublished);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('after sync the whole warehouse equals the star schema computed from the source', async () => {
    await expectWarehouseMatchesSource('after sync');
  });

  it('a silent update (last_updated unchanged) is its own fact version', async () => {
    const silent = changes.find((c) => c.kind === 'silent_update' && c.table === 'sales_order')!;
    const column = silent.column === 'staff_id' ? 'sales_staff_id' : silent.column!;
    const history = await withClient(warehouse.url, (wh) =>
      wh.query(
        `SELECT op, last_updated_date::text || ' ' || last_updated_time::text AS last_updated, ${pg.escapeIdentifier(column)}::text AS value
         FROM star.fact_sales_order_history WHERE sales_order_id = $1 ORDER BY version`,
        [silent.id],
      ),
    );
    // The silent version follows an earlier one: same last_updated, the silently changed column differs.
    const changedSilently = history.rows.some(
      (row, i) => i > 0 && row.op === 'u' && row.last_updated === history.rows[i - 1].last_updated && row.value !== history.rows[i - 1].value,
    );
    expect(changedSilently, `sales order ${silent.id} (${silent.column}) history: ${JSON.stringify(history.rows)}`).toBe(true);
  });

  it('a loader SIGKILLed mid-load (several times) loses nothing and duplicates nothing', async () => {
    const phaseStarted = Date.now();
    await simulate(250, SEED + 2);
    const simulatedMs = Date.now() - phaseStarted;
    const backlog = await captureAndProcess({ config, sourceUrl: source.url, logger: silentLogger, maxBatchRecords: 20 });
    const backlogMs = Date.now() - phaseStarted - simulatedMs;
    expect(backlog.quarantined).toBe(0);
    expect(backlog.manifests).toBeGreaterThanOrEqual(20);
    const total = (await manifestKeys(config)).length;

    const pool = new pg.Pool({ connectionString: warehouse.url, max: 2 });
    const ledgerCount = async () => (await pool.query('SELECT count(*)::int AS n FROM star.load_ledger')).rows[0].n as number;
    try {
      const trials: { afterManifests: number; delayMs: number; loadedBefore: number; loadedAfter: number; inTransaction: boolean }[] = [];
      for (let trial = 0; trial < 3; trial++) {
        const loadedBefore = await ledgerCount();
        // A random moment while it loads: after 1..4 more committed manifests, plus 0..40 ms.
        const afterManifests = 1 + Math.floor(Math.random() * 4);
        const delayMs = Math.floor(Math.random() * 40);
        const child = spawn(process.execPath, [CLI, 'load', '--state-dir', stateDir, '--source-url', source.url, '--warehouse-url', warehouse.url], {
          cwd: REPO_ROOT,
          env: { ...process.env, TOTESYS_LOG_LEVEL: 'silent' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
        let inTransaction = false;
        try {
          // Generous: a loaded CI machine takes seconds just to start the CLI.
          const deadline = Date.now() + 90_000;
          while ((await ledgerCount()) < loadedBefore + afterManifests) {
            if (child.exitCode !== null) throw new Error(`loader exited (${child.exitCode}) before it was killed: ${stderr}`);
            if (Date.now() > deadline) throw new Error(`loader made no progress within 90 s: ${stderr}`);
            await new Promise((r) => setTimeout(r, 5));
          }
          await new Promise((r) => setTimeout(r, delayMs));
          // Land inside a manifest's transaction (they take tens of ms, the gaps between them ~1 ms).
          for (let i = 0; i < 100 && !inTransaction; i++) {
            const open = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'totesys-cdc-loader' AND xact_start IS NOT NULL`);
            inTransaction = open.rows[0].n > 0;
          }
          child.kill('SIGKILL');
          expect(await exited).toBe('SIGKILL');
        } finally {
          child.kill('SIGKILL');
        }
        // The server notices the dropped connection and rolls the open transaction back.
        for (let i = 0; i < 200; i++) {
          const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'totesys-cdc-loader'`);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        const loadedAfter = await ledgerCount();
        trials.push({ afterManifests, delayMs, loadedBefore, loadedAfter, inTransaction });
        expect(loadedAfter, `trial ${trial} (${afterManifests} manifests + ${delayMs} ms): killed while manifests were still pending`).toBeLessThan(total);
        expect(loadedAfter, `trial ${trial}: committed manifests survive the kill`).toBeGreaterThanOrEqual(loadedBefore + afterManifests);
        // All or nothing per batch: every fact row present belongs to a batch the ledger recorded.
        const consistency = await pool.query(
          `SELECT f.fact, f.n, coalesce(l.n, 0) AS ledger FROM (
             SELECT 'fact_sales_order' AS fact, count(*)::int AS n FROM star.fact_sales_order
             UNION ALL SELECT 'fact_purchase_order', count(*)::int FROM star.fact_purchase_order
             UNION ALL SELECT 'fact_payment', count(*)::int FROM star.fact_payment) f
           LEFT JOIN (SELECT key AS fact, sum(value::int)::int AS n FROM star.load_ledger, jsonb_each_text(rows) GROUP BY key) l USING (fact)
           ORDER BY 1`,
        );
        for (const row of consistency.rows) expect(row.n, `trial ${trial} (${afterManifests} manifests + ${delayMs} ms): ${row.fact} rows vs rows the ledger recorded`).toBe(row.ledger);
      }
      const killsMs = Date.now() - phaseStarted - simulatedMs - backlogMs;
      console.info('loader kill trials', JSON.stringify({ manifests: total, simulatedMs, backlogMs, killsMs, trials }));
      expect(trials.some((t) => t.inTransaction), 'at least one kill landed inside a load transaction').toBe(true);

      // Then the loader runs normally (as `sync`/`up` run it) and picks up the rest.
      const finish = await loadPendingManifests({ warehouseUrl: warehouse.url, processed: createObjectStore(config, 'processed'), schema: SCHEMA, logger: silentLogger });
      expect(finish).toMatchObject({ status: 'completed', manifestsFailed: 0, manifestsLoaded: total - trials.at(-1)!.loadedAfter });
      expect(await ledgerCount()).toBe(total);
    } finally {
      await pool.end();
    }
    await expectWarehouseMatchesSource('after loader kills');
  });

  it('loading every manifest a second time leaves the warehouse unchanged', async () => {
    const factCounts = () =>
      withClient(warehouse.url, async (wh) => {
        const counts: Partial<Record<FactName, number>> = {};
        for (const fact of FACTS) counts[fact] = (await wh.query(`SELECT count(*)::int AS n FROM star.${pg.escapeIdentifier(fact)}`)).rows[0].n;
        return counts;
      });
    // Everything loaded once first (so this test does not depend on the one before finishing its loads).
    const first = await loadPendingManifests({ warehouseUrl: warehouse.url, processed: createObjectStore(config, 'processed'), schema: SCHEMA, logger: silentLogger });
    expect(first.manifestsFailed).toBe(0);
    const before = await dumpWarehouse(warehouse.url, SCHEMA);
    const countsBefore = await factCounts();
    const total = (await manifestKeys(config)).length;
    await withClient(warehouse.url, (wh) => wh.query('DELETE FROM star.load_ledger'));

    const runs: LoadSummary[] = [];
    for (let i = 0; i < 10; i++) {
      const summary = await loadPendingManifests({ warehouseUrl: warehouse.url, processed: createObjectStore(config, 'processed'), schema: SCHEMA, logger: silentLogger });
      runs.push(summary);
      if (summary.manifestsLoaded === 0) break;
    }
    expect(runs.reduce((n, r) => n + r.manifestsLoaded, 0), 'every manifest loaded again').toBe(total);
    expect(runs.reduce((n, r) => n + r.manifestsFailed, 0)).toBe(0);
    // Facts dedupe by event id, dimensions are version-guarded, dates insert once: nothing written.
    expect(runs.reduce((n, r) => n + r.rowsLoaded + r.inferredMembers, 0), JSON.stringify(runs.map((r) => r.rowsByTable))).toBe(0);

    expect(await factCounts()).toEqual(countsBefore);
    expect(await dumpWarehouse(warehouse.url, SCHEMA)).toEqual(before);
    await expectWarehouseMatchesSource('after loading everything twice');
  });
});
