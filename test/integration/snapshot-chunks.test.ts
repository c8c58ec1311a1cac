import { describe, expect, it } from 'vitest';
import { readSnapshot, type SnapshotChunk } from '../../capture/snapshot/initial-snapshot.js';
import { MANIFEST_VERSION, type BatchManifest } from '../../contracts/manifest.js';
import { RECONCILE_VERSION, type ReconcileRecord } from '../../contracts/reconcile.js';
import { snapshotReconcileId } from '../../capture/publish/reconcile-publish.js';
import { useCaptureSource, useExportedSnapshot } from '../support/capture-source.js';
import { useLoaderTestbed } from '../support/loader-testbed.js';
import { counterpartyDim, currencyDim, dateDim, designDim, locationDim, nextManifestTime, salesFact, staffDim, writeBatch } from '../support/processed-batch-factory.js';

/**
 * The initial snapshot's chunks (capture/snapshot/initial-snapshot.ts; one reconcile record each,
 * docs/capture-spec.md R1). It publishes fewer rows at a time than a chunk holds (short-lived
 * batches) while chunks keep their size: the events and chunks must be exactly those of one batch
 * per chunk, each chunk after its events. Every chunk's keys must lie in its range as the loader compares keys
 * (as numbers): the snapshot once read in the keys' text order, and its reconciles then gave 2,245
 * of these 2,345 live rows a delete version (the last test, run without the fix).
 */
const ORDERS = 2345;

describe('initial snapshot: chunks', () => {
  const source = useCaptureSource('snapshot chunks', { salesOrders: ORDERS });
  const bed = useLoaderTestbed('snapshot_chunks', 'snapchunks_');
  const snapshot = useExportedSnapshot(source);

  /** The warehouse with every sales order live at `lsn`, and the dimensions its facts need. */
  async function loadEveryOrderAt(lsn: bigint): Promise<void> {
    await writeBatch(bed.bucket.store, {
      dim_date: ['2022-11-03', '2022-11-07', '2022-11-10'].map(dateDim),
      dim_staff: [staffDim(1, lsn, { version_seq: 1 })],
      dim_location: [locationDim(1, lsn)],
      dim_currency: [currencyDim(1, 'GBP', lsn)],
      dim_design: [designDim(1, lsn)],
      dim_counterparty: [counterpartyDim(1, lsn)],
      fact_sales_order: Array.from({ length: ORDERS }, (_, i) => salesFact(i + 1, lsn)),
    });
    expect((await bed.load()).failures).toEqual([]);
  }

  /** One manifest with a snapshot reconcile per chunk, as the processor writes reconcile copies. */
  async function writeReconcileManifest(chunks: Pick<SnapshotChunk, 'index' | 'keyAfter' | 'keyTo' | 'keys' | 'commitTs'>[], snapshotLsn: string, v: ReconcileRecord['v'] = RECONCILE_VERSION): Promise<void> {
    const reconciles = chunks.map((chunk): ReconcileRecord => ({
      kind: 'reconcile',
      v,
      id: snapshotReconcileId('sales_order', snapshotLsn, chunk.index),
      table: 'sales_order',
      lsn: snapshotLsn,
      seq: -1,
      commitTs: chunk.commitTs,
      reason: 'snapshot',
      keyAfter: chunk.keyAfter,
      keyTo: chunk.keyTo,
      keys: chunk.keys,
      shards: null,
    }));
    const createdAt = nextManifestTime();
    const manifest: BatchManifest = { v: MANIFEST_VERSION, batchId: `reconcile-${createdAt}`, createdAt, eventCount: 0, firstEventId: '', lastEventId: '', minCommitTs: createdAt, maxCommitTs: createdAt, files: [], reconciles: reconciles.map((record) => ({ copyShards: ['shard-0'], record })) };
    await bed.bucket.store.put(`manifests/date=${createdAt.slice(0, 10)}/${createdAt.replace(/[-:.]/g, '')}-${manifest.batchId}.json`, JSON.stringify(manifest));
  }

  const deletedOrders = async () =>
    (await bed.pool.query<{ id: number }>(`SELECT sales_order_id AS id FROM ${bed.schema}.fact_sales_order WHERE op = 'd' ORDER BY 1`)).rows.map((r) => r.id);

  async function read(publishRows: number | undefined, batchRows = 1000, snapshotLsn = '0/1000000') {
    const log: ({ kind: 'events'; ids: string[] } | { kind: 'chunk'; chunk: SnapshotChunk })[] = [];
    const batches: number[] = [];
    const result = await readSnapshot({
      connectionString: source.url,
      snapshotName: snapshot.name,
      snapshotLsn,
      tables: ['sales_order'],
      batchRows,
      publishRows,
      onEvents: async (events) => {
        batches.push(events.length);
        log.push({ kind: 'events', ids: events.map((e) => e.id) });
      },
      onChunk: async (chunk) => {
        log.push({ kind: 'chunk', chunk });
      },
    });
    const chunks = log.flatMap((entry) => (entry.kind === 'chunk' ? [entry.chunk] : []));
    return { result, log, batches, chunks };
  }

  /** The events between chunks, joined: what a consumer of the stream sees per chunk. */
  const perChunk = (log: Awaited<ReturnType<typeof read>>['log']) => {
    const chunks: { ids: string[]; chunk: SnapshotChunk }[] = [];
    let ids: string[] = [];
    for (const entry of log) {
      if (entry.kind === 'events') ids.push(...entry.ids);
      else {
        chunks.push({ ids, chunk: entry.chunk });
        ids = [];
      }
    }
    expect(ids).toEqual([]); // nothing after the last chunk
    return chunks;
  };

  it('gives the same events and chunks with batches of 300 rows as with one batch per chunk', async () => {
    const whole = await read(1000);
    const split = await read(300);
    expect(whole.batches).toEqual([1000, 1000, 345]);
    // 1,000-row chunks from batches of 300, 300, 300, 100; the last chunk ends at the table's end.
    expect(split.batches).toEqual([300, 300, 300, 100, 300, 300, 300, 100, 300, 45]);
    expect(split.result).toEqual(whole.result);
    expect(split.result.rows).toBe(ORDERS);
    // Each read takes now() inside its snapshot as the chunks' commit time; all else is equal.
    const withoutTime = (log: Awaited<ReturnType<typeof read>>['log']) => perChunk(log).map(({ ids, chunk }) => ({ ids, chunk: { ...chunk, commitTs: '' } }));
    expect(withoutTime(split.log)).toEqual(withoutTime(whole.log));
    const chunks = perChunk(split.log).map((c) => c.chunk);
    expect(chunks.map((c) => [c.index, c.keyAfter, c.keyTo, c.keys.length])).toEqual([
      [0, null, 1000, 1000],
      [1, 1000, 2000, 1000],
      [2, 2000, null, 345],
    ]);
    for (const { ids, chunk } of perChunk(split.log)) {
      // Each chunk's keys are exactly its events' keys, and lie in its range as the loader's
      // reconcile compares them: as numbers (a read in the keys' text order breaks this).
      expect(ids.map((id) => Number(id.split('/')[2]!.split('@')[0]))).toEqual(chunk.keys);
      for (const key of chunk.keys) {
        expect(chunk.keyAfter === null || Number(key) > Number(chunk.keyAfter), `${key} after ${chunk.keyAfter}`).toBe(true);
        expect(chunk.keyTo === null || Number(key) <= Number(chunk.keyTo), `${key} up to ${chunk.keyTo}`).toBe(true);
      }
    }
  });

  it('ends with an empty, unbounded chunk when the rows fill the last chunk exactly', async () => {
    const { result, batches, chunks } = await read(1000, 2345);
    expect(result.rows).toBe(ORDERS);
    // The chunk is full after 1,000 + 1,000 + 345; only the table's end says it was the last.
    expect(batches).toEqual([1000, 1000, 345]);
    expect(chunks.map((c) => [c.index, c.keyAfter, c.keyTo, c.keys.length])).toEqual([
      [0, null, 2345, 2345],
      [1, 2345, null, 0],
    ]);
  });

  it("its chunks, applied by the loader as reconciles to a warehouse holding every row, delete none of them", async () => {
    // A redone snapshot (a lost slot's recovery, an abandoned one redone) over a warehouse that has
    // every sales order live at an older version: each chunk's reconcile says which keys of its
    // range exist, and all of them do.
    await loadEveryOrderAt(100n);
    const snapshotLsn = '0/1F4';
    const { chunks } = await read(undefined, 1000, snapshotLsn);
    await writeReconcileManifest(chunks, snapshotLsn);
    const loaded = await bed.load();
    expect(loaded.failures).toEqual([]);
    expect(await deletedOrders(), "live rows given a delete version by the snapshot's reconciles").toEqual([]);
    const applied = await bed.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${bed.schema}.reconcile_applied`);
    expect(applied.rows[0]!.n).toBe(chunks.length);
  });

  it('applies the text-ordered chunks of a snapshot taken before the fix (archived, replayed) exactly: only absent keys get a delete version', async () => {
    await loadEveryOrderAt(100n);
    // What the old cursor read: the keys in text order, 1,000 per chunk, bounds from the text order,
    // written as version 1. The absent keys sort after the first chunk, which stays (null, 1899]:
    // its keys fit that range as numbers too, yet 2..9 are not among them.
    const absent = new Set([7, 2000, 2345, 999]);
    const textOrder = Array.from({ length: ORDERS }, (_, i) => i + 1)
      .filter((id) => !absent.has(id))
      .sort((a, b) => (String(a) < String(b) ? -1 : 1));
    const legacy = [0, 1, 2].map((index) => {
      const keys = textOrder.slice(index * 1000, (index + 1) * 1000);
      return { index, keyAfter: index === 0 ? null : textOrder[index * 1000 - 1]!, keyTo: index === 2 ? null : keys.at(-1)!, keys, commitTs: '2026-11-30T10:00:00.000Z' };
    });
    expect(legacy[0]!.keyTo).toBe(1899);
    await writeReconcileManifest(legacy, '0/1F4', 1);
    expect((await bed.load()).failures).toEqual([]);
    expect(await deletedOrders()).toEqual([...absent].sort((a, b) => a - b));
  });
});
