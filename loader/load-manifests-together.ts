import { compareDimensionVersions, WAREHOUSE_MODEL, WAREHOUSE_TABLES, type DimensionSpec, type FactSpec, type WarehouseTable } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import type { Logger } from '../platform/logger.js';
import { recordLoadedBatch, recordWatermarks } from './load-ledger.js';
import { GroupConflictError, insertFactRows, insertInferredMembers, mergeDimensionRows, runForTable, type FetchedManifest, type LoadManifestResult } from './load-manifest.js';
import { LEDGER_TABLE, qualified } from './warehouse-ddl.js';
import { inTransaction } from '../platform/in-transaction.js';
import type { WarehouseClient } from './warehouse-pool.js';

/**
 * Several fetched manifests in ONE transaction, set-based: per table, one staging COPY and one
 * merge (or one COPY straight into a fact table) for the rows of the whole group, instead of a
 * round of statements per manifest. A manifest's dozen statements, not its rows, are what a
 * backlog of small manifests costs (`up` under load, the draining Lambda); see
 * docs/performance.md for the figures.
 *
 * The warehouse comes out as loading the manifests one after the other gives it (the differential
 * test, loader-together.test.ts, checks this on random groups):
 *  - dimensions (rule D1, version-rules.ts): the group keeps, per key, the row one-by-one loading
 *    would leave: a later manifest's row replaces an earlier one's only when its version is
 *    strictly higher (so of two rows of one version the first stays), and the merge then applies
 *    D1 against the table; dim_date rows are a function of the date (the first is kept);
 *  - facts (F1, F2): every row in manifest order, through the same statements as one manifest's
 *    (insertFactRows): the event id keeps a repeated event once, and F2 looks at the versions
 *    before each snapshot read whatever manifest or load they came in (version-rules.ts says why
 *    that does not depend on how rows are split);
 *  - tables in load order (dimensions, joined ones after the ones they join, then facts), so the
 *    dimension rows of the whole group are in before its facts: an inferred member is made only
 *    for a key no manifest of the group brings (one-by-one loading would make it and then
 *    complete it: the same row in the end).
 * Each manifest keeps its ledger row and its watermarks (in key order, in the transaction), and
 * a manifest already in the ledger, or met earlier in the group (a batch written twice under two
 * keys), is skipped before anything is written. A ledger row's `rows` counts the rows written that
 * came from that manifest: a fact to the manifest that brought its event id first, a dimension row
 * to the manifest whose version won (one-by-one loading may also count a version a later
 * manifest then replaced), so the ledger still sums to the fact tables.
 * All or nothing: any error rolls the whole group back and is thrown; the caller loads the group
 * again one manifest per transaction, so a bad manifest fails alone (run-loader.ts). Manifests
 * with reconcile records are not taken here (the caller loads those through loadFetchedManifests).
 */
export async function loadManifestsTogether(client: WarehouseClient, schema: string, manifests: readonly FetchedManifest[], logger: Logger): Promise<LoadManifestResult[]> {
  const started = performance.now();
  if (manifests.some((m) => (m.manifest.reconciles?.length ?? 0) > 0)) throw new TypeError('loadManifestsTogether: a manifest with reconciles loads through loadFetchedManifests');
  const results: (LoadManifestResult | null)[] = manifests.map(() => null);
  await inTransaction(client, async () => {
    const { rows: known } = await client.query<{ batch_id: string }>(`SELECT batch_id FROM ${qualified(schema, LEDGER_TABLE)} WHERE batch_id = ANY($1::text[])`, [manifests.map((m) => m.manifest.batchId)]);
    const seen = new Set(known.map((r) => r.batch_id));
    const loading: number[] = [];
    for (const [i, { manifest }] of manifests.entries()) {
      if (seen.has(manifest.batchId)) results[i] = { status: 'skipped', batchId: manifest.batchId, reason: 'already loaded' };
      else {
        seen.add(manifest.batchId);
        loading.push(i);
      }
    }
    const group = gatherRows(manifests, loading);
    const rowsOf = new Map<number, Partial<Record<WarehouseTable, number>>>(loading.map((i) => [i, {}]));
    const count = (table: WarehouseTable, owners: Iterable<number | undefined>) => {
      for (const owner of owners) {
        // A key always maps to its manifest; the first one is only a guard for a text form that differs.
        const rows = rowsOf.get(owner ?? loading[0]!)!;
        rows[table] = (rows[table] ?? 0) + 1;
      }
    };
    const staged = new Set<WarehouseTable>();
    let inferredMembers = 0;
    // Errors name the group's first manifest; the one-by-one retry then names the bad one.
    const where = manifests[loading[0] ?? 0]!.manifestKey;
    for (const table of WAREHOUSE_TABLES) {
      const rows = group.get(table);
      if (!rows) continue;
      const spec = WAREHOUSE_MODEL[table];
      await runForTable(where, table, async () => {
        if (spec.kind === 'dimension') {
          // The group's rows are one per key already (gatherRows): 'all' means each of them went in.
          const written = await mergeDimensionRows(client, schema, spec as DimensionSpec, rows.rows, staged, { returnKeys: true });
          count(table, written === 'all' ? rows.owners : written.map((k) => rows.ownerOf.get(k)));
        } else {
          const keys = await insertInferredMembers(client, schema, spec as FactSpec, rows.rows);
          inferredMembers += keys.inferred;
          const written = await insertFactRows(client, schema, spec as FactSpec, rows.rows, staged, { returnEventIds: true, keysHeld: keys.held });
          count(table, written === 'all' ? rows.owners : written.map((eventId) => rows.ownerOf.get(eventId)));
        }
      });
    }
    const durationMs = performance.now() - started;
    for (const i of loading) {
      const { manifestKey, manifest } = manifests[i]!;
      const rows = rowsOf.get(i)!;
      // The loader lock makes a ledger row written meanwhile by someone else all but impossible;
      // if it happens, the group is rolled back and the caller loads one by one.
      if (!(await recordLoadedBatch(client, schema, manifestKey, manifest, rows as Record<string, number>, durationMs / loading.length))) {
        throw new GroupConflictError(`batch ${manifest.batchId} was recorded by another loader meanwhile`);
      }
      await recordWatermarks(client, schema, manifestKey, manifest.watermarks);
      results[i] = { status: 'loaded', batchId: manifest.batchId, rows, inferredMembers: i === loading[0] ? inferredMembers : 0, maxCommitTs: manifest.maxCommitTs };
    }
  });
  logger.debug('manifests loaded together', { manifests: manifests.length, loaded: results.filter((r) => r?.status === 'loaded').length, durationMs: Math.round(performance.now() - started) });
  return results as LoadManifestResult[];
}

/** A table's rows for the group, and which manifest (its index) each written row is counted to. */
interface GroupRows {
  rows: WarehouseRow[];
  /** Per row (facts), in order: the manifest it came from. */
  owners: number[];
  /** Key (a dimension's key, a fact's event id) → the manifest a written row with it is counted to. */
  ownerOf: Map<string, number>;
}

/** The group's rows per table: dimension rows reduced to the one per key one-by-one loading keeps, fact rows all, in manifest order. */
function gatherRows(manifests: readonly FetchedManifest[], loading: readonly number[]): Map<WarehouseTable, GroupRows> {
  const byTable = new Map<WarehouseTable, GroupRows>();
  const dimensionRows = new Map<WarehouseTable, Map<string, { row: WarehouseRow; owner: number }>>();
  for (const i of loading) {
    for (const { file, rows } of manifests[i]!.files) {
      const spec = WAREHOUSE_MODEL[file.table];
      if (spec.kind === 'fact') {
        let group = byTable.get(file.table);
        if (!group) byTable.set(file.table, (group = { rows: [], owners: [], ownerOf: new Map() }));
        for (const row of rows) {
          group.rows.push(row);
          group.owners.push(i);
          const eventId = String(row.event_id);
          if (!group.ownerOf.has(eventId)) group.ownerOf.set(eventId, i);
        }
        continue;
      }
      let byKey = dimensionRows.get(file.table);
      if (!byKey) dimensionRows.set(file.table, (byKey = new Map()));
      for (const row of rows) {
        const key = String(row[(spec as DimensionSpec).key]);
        const current = byKey.get(key);
        // D1 in memory: strictly higher replaces, so of two rows of one version the first stays (dim_date rows always tie).
        if (!current || compareDimensionVersions(row, current.row) > 0) byKey.set(key, { row, owner: i });
      }
    }
  }
  for (const [table, byKey] of dimensionRows) {
    const group: GroupRows = { rows: [], owners: [], ownerOf: new Map() };
    for (const [key, { row, owner }] of byKey) {
      group.rows.push(row);
      group.owners.push(owner);
      group.ownerOf.set(key, owner);
    }
    byTable.set(table, group);
  }
  return byTable;
}
