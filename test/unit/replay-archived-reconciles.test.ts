import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { changeObjectKey } from '../../archive/archive-layout.js';
import { serializeReconcile, type ReconcileRecord } from '../../contracts/reconcile.js';
import { silentLogger } from '../../platform/logger.js';
import { ArchivedReconciles } from '../../replay/order/archived-reconciles.js';
import { openOrderedArchive } from '../../replay/order/ordered-archive.js';
import { generateWorkload, putObject } from '../support/archive-workload.js';
import { useTempObjectStore } from '../support/temp-object-store.js';

/**
 * Replay's reconcile records (docs/capture-spec.md R4): the scan keeps them aside, one per id
 * whatever the number of shard copies, in version order by LSN as a number; a bad one is reported
 * with its file and line, and the events around them are read as before.
 */
const reconcile = (o: Partial<ReconcileRecord>): Omit<ReconcileRecord, 'kind' | 'v'> => ({
  id: 'truncate/sales_order/0/10/1',
  table: 'sales_order',
  lsn: '0/10',
  seq: 1,
  commitTs: '2026-12-07T07:00:00.000Z',
  reason: 'truncate',
  keyAfter: null,
  keyTo: null,
  keys: [],
  shards: ['shard-0', 'shard-1'],
  ...o,
});

describe('replay: archived reconcile records', () => {
  const temp = useTempObjectStore('replay-reconciles-');

  it('orders by LSN as a number, then seq, then id, and keeps one record per id', () => {
    const log = new ArchivedReconciles();
    const a = { kind: 'reconcile', v: 1, ...reconcile({ id: 'a', lsn: '0/10', seq: 3 }) } as ReconcileRecord;
    const b = { kind: 'reconcile', v: 1, ...reconcile({ id: 'b', lsn: '0/9', seq: 7 }) } as ReconcileRecord;
    const c = { kind: 'reconcile', v: 1, ...reconcile({ id: 'c', lsn: '1/0', seq: -1 }) } as ReconcileRecord;
    const d = { kind: 'reconcile', v: 1, ...reconcile({ id: 'd', lsn: '0/10', seq: -1 }) } as ReconcileRecord;
    log.add([c, a, b, a, d, c]);
    expect(log.copies).toBe(6);
    expect(log.inVersionOrder().map((r) => r.id)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('the scan hands back every copy, dedupes them by id, reports a bad one, and sorts the events as before', async () => {
    const events = generateWorkload(40, { secondsBetweenTransactions: 5 });
    const copy = serializeReconcile(reconcile({}));
    const other = serializeReconcile(reconcile({ id: 'snapshot/sales_order/0/5/0', lsn: '0/5', seq: -1, reason: 'snapshot', keys: [1, 2] }));
    const lines = [copy, ...events.slice(0, 3).map((e) => e.text), copy, other, '{"kind":"reconcile","v":1,"id":"broken"}', ...events.slice(3).map((e) => e.text)];
    const body = Buffer.from(lines.join('\n') + '\n');
    const key = changeObjectKey('sales_order', events[0]!.arrivalMs, body);
    await temp.store.put(key, gzipSync(body));
    const duplicates = events.filter((e) => e.event.table === events[0]!.event.table).slice(0, 2);
    await putObject(temp.store, duplicates, events[0]!.arrivalMs + 1); // another object: duplicate events only
    const archive = await openOrderedArchive({ ingestion: temp.store, logger: silentLogger, scanWorkers: 0 });
    try {
      expect(archive.scan.reconcileRecords).toBe(3);
      expect(archive.reconciles.inVersionOrder().map((r) => r.id)).toEqual(['snapshot/sales_order/0/5/0', 'truncate/sales_order/0/10/1']);
      expect(archive.issues.issues).toEqual([expect.objectContaining({ kind: 'invalid-event', file: key, line: 7 })]);
      const read: string[] = [];
      for await (const batch of archive.batches(100)) read.push(...batch.map((e) => e.id));
      expect(read.sort()).toEqual(events.map((e) => e.event.id).sort());
    } finally {
      await archive.close();
    }
  });
});
