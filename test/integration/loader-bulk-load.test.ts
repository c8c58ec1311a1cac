import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { BulkLoad } from '../../loader/bulk-load.js';
import { readManifest } from '../../loader/manifest-reader.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { generateWorkload } from '../support/archive-workload.js';
import { allTables } from '../support/warehouse-content.js';
import { useWarehouseTestbed } from '../support/warehouse-testbed.js';

describe('bulk load', () => {
  const testbed = useWarehouseTestbed('loader_bulk_load');

  it('reading the manifests from the bucket, gives exactly what the incremental loader gives', async () => {
    const { db, dir, client } = testbed;
    // Small batches in arrival order, facts first and dimensions after (each table keeps its own
    // order): versions of one dimension key arrive in several manifests, and every fact arrives
    // before its dimension rows, so the incremental loader creates inferred members and completes them.
    // Designs with an even id never arrive: their inferred members stay, in both loads (the bulk
    // load finds them when the foreign key fails).
    const processed = new LocalDirObjectStore(path.join(dir, 'processed'));
    const state = await LocalJoinStateStore.open(path.join(dir, 'state'), silentLogger);
    const isFact = (table: string) => ['sales_order', 'purchase_order', 'payment'].includes(table);
    const neverArrives = (e: { event: { table: string; key: Record<string, unknown> } }) => e.event.table === 'design' && Number(e.event.key.design_id) % 2 === 0;
    const byArrival = [...generateWorkload(1500, { secondsBetweenTransactions: 20 })].filter((e) => !neverArrives(e)).sort((a, b) => a.arrivalMs - b.arrivalMs);
    const events = [...byArrival.filter((e) => isFact(e.event.table)), ...byArrival.filter((e) => !isFact(e.event.table))];
    let clock = Date.parse('2026-11-23T10:00:00Z');
    for (let i = 0; i < events.length; i += 120) {
      await processEvents(events.slice(i, i + 120).map((e) => e.event), { state, processed, logger: silentLogger, now: () => (clock += 1000) });
    }
    await state.close();

    const incremental = await loadPendingManifests({ warehouseUrl: db.url, processed, logger: silentLogger, schema: 'incremental' });
    expect(incremental.manifestsFailed).toBe(0);
    expect(incremental.inferredMembers).toBeGreaterThan(0);

    const bulk = await BulkLoad.open({ warehouseUrl: db.url, schema: 'bulk', processed, logger: silentLogger });
    try {
      const keys: string[] = [];
      for await (const object of processed.list('manifests/')) keys.push(object.key);
      expect(keys.length).toBe(incremental.manifestsLoaded);
      for (const key of keys) await bulk.load(key, await readManifest(processed, key));
      const summary = await bulk.finish();
      expect(summary.manifests).toBe(keys.length);
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM incremental.dim_design WHERE version_lsn = 0 AND design_name IS NULL`);
      expect(rows[0].n).toBeGreaterThan(0);
      expect(summary.inferredMembers).toBe(rows[0].n);
    } finally {
      await bulk.close();
    }

    const expected = await allTables(client, 'incremental');
    expect(expected.flat().length).toBeGreaterThan(1000);
    expect(await allTables(client, 'bulk')).toEqual(expected);
    const ledger = (schema: string) => client.query(`SELECT batch_id, manifest_key FROM ${schema}.load_ledger ORDER BY batch_id`).then((r) => r.rows);
    expect(await ledger('bulk')).toEqual(await ledger('incremental'));
  });

  it('refuses a schema that already holds loaded batches', async () => {
    const { db, dir } = testbed;
    await expect(BulkLoad.open({ warehouseUrl: db.url, schema: 'incremental', processed: new LocalDirObjectStore(path.join(dir, 'processed')), logger: silentLogger })).rejects.toThrow(
      /bulk load needs a new schema: incremental already has loaded batches/,
    );
  });
});
