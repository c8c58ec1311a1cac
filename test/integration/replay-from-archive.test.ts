import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay, type ReplayProgress } from '../../replay/replay.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES } from '../../contracts/warehouse-model.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { generateWorkload, putObject, writeArchive, type ArchivedEvent } from '../support/archive-workload.js';
import { allTables, tableContent } from '../support/warehouse-content.js';
import { useWarehouseTestbed } from '../support/warehouse-testbed.js';

/** The live path: the stream processor in arrival order (batches of 250), then the loader. */
async function loadLive(events: readonly ArchivedEvent[], warehouseUrl: string, dir: string): Promise<void> {
  const processed = new LocalDirObjectStore(path.join(dir, 'processed-live'));
  const state = await LocalJoinStateStore.open(path.join(dir, 'state-live'), silentLogger);
  const ordered = [...events].sort((a, b) => a.arrivalMs - b.arrivalMs);
  for (let i = 0; i < ordered.length; i += 250) await processEvents(ordered.slice(i, i + 250).map((e) => e.event), { state, processed, logger: silentLogger });
  await state.close();
  for (let runs = 0; runs < 20; runs++) {
    const result = await loadPendingManifests({ warehouseUrl, processed, logger: silentLogger });
    expect(result.manifestsFailed).toBe(0);
    if (result.manifestsLoaded === 0) return;
  }
}

describe('replay from the archive', () => {
  const testbed = useWarehouseTestbed('archive_replay');

  it('replay --rebuild of the archive equals loading the live stream, table by table; bad input makes it partial', async () => {
    const { db, dir, client } = testbed;
    const events = generateWorkload(2500, { secondsBetweenTransactions: 10 });
    await loadLive(events, db.url, dir);

    const ingestion = new LocalDirObjectStore(path.join(dir, 'ingestion'));
    const processed = new LocalDirObjectStore(path.join(dir, 'processed'));
    await writeArchive(ingestion, events, 113);
    // Duplicates from a re-archive, and one damaged object.
    await putObject(ingestion, events.filter((e) => e.event.table === 'payment').slice(0, 200), events.at(-1)!.arrivalMs);
    await ingestion.put('changes/table=design/date=2026-11-22/hour=09/totesys-cdc-1-broken.json.gz', Buffer.from('not gzip'));

    const progress: ReplayProgress[] = [];
    const summary = await replay({ ingestion, processed, warehouseUrl: db.url, rebuild: true, logger: silentLogger, onProgress: (p) => progress.push(p), batchSize: 700, lanes: 2 });

    expect(summary.partial).toBe(true);
    expect(summary.lanes).toBe(2); // real lane workers
    expect(summary.issueCounts).toEqual({ 'corrupt-gzip': 1 });
    expect(summary.issues[0]).toMatchObject({ file: 'changes/table=design/date=2026-11-22/hour=09/totesys-cdc-1-broken.json.gz' });
    expect(summary.eventsReplayed).toBe(events.length);
    expect(summary.duplicates).toBe(200);
    expect(summary.swap).toMatchObject({ liveSchema: 'star', oldSchema: expect.stringMatching(/^star_old_/) });
    expect(summary.swap!.dropOldSql).toMatch(/^DROP SCHEMA "star_old_\w+" CASCADE;$/);
    expect(summary.swap!.rollbackSql).toContain(`RENAME TO "star"`);
    const report = JSON.parse(Buffer.from(await processed.get(summary.reportKey)).toString());
    expect(report).toMatchObject({ replayId: summary.replayId, partial: true, issueCount: 1, eventsReplayed: events.length });
    expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['read', 'process', 'load', 'swap']));
    expect(progress.filter((p) => p.phase === 'process').at(-1)).toMatchObject({ done: events.length, total: events.length, etaMs: 0 });

    const oldSchema = summary.swap!.oldSchema!;
    let facts = 0;
    for (const table of WAREHOUSE_TABLES) {
      const live = await tableContent(client, oldSchema, table);
      const rebuilt = await tableContent(client, 'star', table);
      expect(rebuilt, table).toEqual(live);
      if (WAREHOUSE_MODEL[table].kind === 'fact') facts += live.length;
    }
    expect(facts).toBeGreaterThan(1500); // the comparison compared something

    // Replaying again into the live schema (no --rebuild) is idempotent.
    const before = await allTables(client, 'star');
    const again = await replay({ ingestion, processed, warehouseUrl: db.url, logger: silentLogger, tables: ['sales_order', 'payment'] });
    expect(again.swap).toBeNull();
    expect(again.loadSchema).toBe('star');
    expect(again.manifests).toBeGreaterThan(0);
    const after = await allTables(client, 'star');
    expect(after).toEqual(before);

    // The live loader keeps loading new live manifests into the swapped-in schema (the replay's
    // manifests share its ledger; see REPLAY_PREFIX).
    const more = generateWorkload(2600, { secondsBetweenTransactions: 10 }).slice(2500);
    const liveProcessed = new LocalDirObjectStore(path.join(dir, 'processed-live'));
    const state = await LocalJoinStateStore.open(path.join(dir, 'state-live'), silentLogger);
    await processEvents(more.map((e) => e.event), { state, processed: liveProcessed, logger: silentLogger });
    await state.close();
    const live = await loadPendingManifests({ warehouseUrl: db.url, processed: liveProcessed, logger: silentLogger });
    expect(live.manifestsLoaded).toBeGreaterThan(0);
    const eventIds = more.filter((e) => ['sales_order', 'purchase_order', 'payment'].includes(e.event.table)).map((e) => e.event.id);
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM (SELECT event_id FROM star.fact_sales_order UNION ALL SELECT event_id FROM star.fact_purchase_order UNION ALL SELECT event_id FROM star.fact_payment) f WHERE event_id = ANY($1::text[])`,
      [eventIds],
    );
    expect(rows[0].n).toBe(eventIds.length);

    // A rebuild whose selection matches nothing never swaps an empty warehouse in.
    await expect(replay({ ingestion, processed, warehouseUrl: db.url, rebuild: true, logger: silentLogger, from: new Date('2030-01-01T00:00:00Z') })).rejects.toThrow(/nothing to replay/);
    expect(await tableContent(client, 'star', 'fact_payment')).not.toHaveLength(0);
  });
});
