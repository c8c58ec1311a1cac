import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeObjectKey } from '../../archive/archive-layout.js';
import { openOrderedArchive } from '../../replay/order/ordered-archive.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { compareVersion, eventVersion, partitionKeyOf, type ChangeEvent } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import { generateWorkload, putObject, writeArchive } from '../support/archive-workload.js';

async function readAll(store: LocalDirObjectStore, options: { maxRunBytes?: number; tables?: string[]; from?: Date; to?: Date } = {}) {
  const archive = await openOrderedArchive({ ingestion: store, logger: silentLogger, ...options });
  const events: ChangeEvent[] = [];
  try {
    for await (const batch of archive.batches(500)) events.push(...batch);
  } finally {
    await archive.close();
  }
  return { archive, events };
}

describe('ordered archive (replay read + sort + dedupe)', () => {
  let root: string;
  let store: LocalDirObjectStore;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ordered-archive-'));
    store = new LocalDirObjectStore(root);
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('yields every event once, per key in version order, from out-of-order files with duplicates, across spilled runs', async () => {
    const events = generateWorkload(4000, { secondsBetweenTransactions: 20 });
    await writeArchive(store, events, 97);
    // A crash re-archived ~10% of the events, hours later and grouped differently.
    const replayed = events.filter((_, i) => i % 10 === 3);
    const byTable = new Map<string, typeof replayed>();
    for (const e of replayed) byTable.set(e.event.table, [...(byTable.get(e.event.table) ?? []), e]);
    for (const group of byTable.values()) {
      for (let i = 0; i < group.length; i += 41) await putObject(store, group.slice(i, i + 41), group[i]!.arrivalMs + 3 * 3_600_000);
    }
    // And an out-of-order object: late events filed under the earliest hour.
    await putObject(store, events.slice(-30).filter((e) => e.event.table === 'payment'), events[0]!.arrivalMs);

    const { archive, events: out } = await readAll(store, { maxRunBytes: 256 * 1024 });
    expect(archive.merge.runs).toBeGreaterThan(3); // really an external merge
    expect(archive.issues.total).toBe(0);
    expect(out.map((e) => e.id).sort()).toEqual(events.map((e) => e.event.id).sort());
    expect(archive.merge.duplicates).toBe(archive.scan.eventsRead - events.length);
    expect(archive.merge.duplicates).toBeGreaterThanOrEqual(replayed.length);
    // Global commit order (which implies per-key order).
    for (let i = 1; i < out.length; i++) expect(compareVersion(eventVersion(out[i - 1]!), eventVersion(out[i]!))).toBeLessThanOrEqual(0);
    const perKey = new Map<string, string[]>();
    for (const e of out) perKey.set(partitionKeyOf(e), [...(perKey.get(partitionKeyOf(e)) ?? []), e.id]);
    const expectedPerKey = new Map<string, string[]>();
    for (const { event } of events) expectedPerKey.set(partitionKeyOf(event), [...(expectedPerKey.get(partitionKeyOf(event)) ?? []), event.id]);
    expect(perKey).toEqual(expectedPerKey); // the generator emits in commit order
  });

  it('reads concatenated GZIP members as one object (Firehose may produce them)', async () => {
    const events = generateWorkload(10);
    const bodyA = Buffer.from(events.slice(0, 5).map((e) => e.text + '\n').join(''));
    const bodyB = Buffer.from(events.slice(5).map((e) => e.text + '\n').join(''));
    await store.put(changeObjectKey('currency', events[0]!.arrivalMs, Buffer.concat([bodyA, bodyB])), Buffer.concat([gzipSync(bodyA), gzipSync(bodyB)]));
    const { archive, events: out } = await readAll(store);
    // The table partition is only a location: events are validated on their own content.
    expect(archive.issues.total).toBe(0);
    expect(out).toHaveLength(10);
  });

  it('selects tables and arrival hours', async () => {
    const events = generateWorkload(600, { secondsBetweenTransactions: 60 });
    await writeArchive(store, events, 50);
    const { events: payments } = await readAll(store, { tables: ['payment'] });
    expect(payments.length).toBe(events.filter((e) => e.event.table === 'payment').length);
    const from = new Date(Math.floor(events[300]!.arrivalMs / 3_600_000) * 3_600_000);
    const to = new Date(from.getTime() + 3_600_000);
    const { events: hour } = await readAll(store, { from, to });
    const expected = events.filter((e) => e.arrivalMs >= from.getTime() && e.arrivalMs < to.getTime());
    expect(hour.map((e) => e.id).sort()).toEqual(expected.map((e) => e.event.id).sort());
    await expect(readAll(store, { tables: ['nope'] })).rejects.toThrow(/not a captured table/);
  });

  it('reports corrupt gzip, truncated lines, non-JSON, unknown versions and tables with file and line, and keeps going', async () => {
    const events = generateWorkload(300);
    const good = await putObject(store, events.slice(0, 20).filter((e) => e.event.table === events[0]!.event.table));
    const goodCount = events.slice(0, 20).filter((e) => e.event.table === events[0]!.event.table).length;
    const sales = events.filter((e) => e.event.table === 'sales_order');
    const at = sales[0]!.arrivalMs;
    const lines = [
      sales[0]!.text,
      'not json at all',
      JSON.stringify({ ...sales[1]!.event, v: 2 }),
      JSON.stringify({ ...sales[1]!.event, table: 'no_such_table' }),
      JSON.stringify({ ...sales[1]!.event, op: 'x' }),
      sales[1]!.text,
    ];
    const mixedBody = Buffer.from(lines.join('\n') + '\n' + sales[2]!.text.slice(0, 40)); // last line cut off
    const mixed = changeObjectKey('sales_order', at, mixedBody);
    await store.put(mixed, gzipSync(mixedBody));
    // A gzip cut in the middle: the lines before the cut are still read.
    const bigBody = Buffer.from(sales.slice(3).map((e) => e.text + '\n').join('').repeat(200));
    const gz = gzipSync(bigBody, { level: 1 });
    const cut = changeObjectKey('sales_order', at + 1, bigBody);
    await store.put(cut, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const garbage = changeObjectKey('sales_order', at + 2, Buffer.from('garbage'));
    await store.put(garbage, Buffer.from('this is not gzip'));
    await store.put('changes/table=sales_order/stray.txt', 'x');

    const { archive, events: out } = await readAll(store);
    const byKind = (kind: string) => archive.issues.issues.filter((i) => i.kind === kind);
    expect(byKind('malformed-json')).toEqual([expect.objectContaining({ file: mixed, line: 2 })]);
    expect(byKind('unsupported-version')).toEqual([expect.objectContaining({ file: mixed, line: 3, eventId: sales[1]!.event.id })]);
    expect(byKind('unknown-table')).toEqual([expect.objectContaining({ file: mixed, line: 4 })]);
    expect(byKind('invalid-event')).toEqual([expect.objectContaining({ file: mixed, line: 5 })]);
    expect(byKind('truncated-line')).toContainEqual(expect.objectContaining({ file: mixed, line: 7 }));
    const corrupt = byKind('corrupt-gzip');
    expect(corrupt.map((i) => i.file).sort()).toEqual([cut, garbage].sort());
    const cutIssue = corrupt.find((i) => i.file === cut)!;
    expect(cutIssue.line).toBeGreaterThan(100); // lines before the cut were read
    expect(byKind('unexpected-key')).toEqual([expect.objectContaining({ file: 'changes/table=sales_order/stray.txt' })]);
    // Valid events from every object are there, deduped (the cut file repeats the same events).
    const ids = new Set(out.map((e) => e.id));
    expect(ids.has(sales[0]!.event.id) && ids.has(sales[1]!.event.id) && ids.has(sales[3]!.event.id)).toBe(true);
    expect(out.length).toBe(goodCount + 2 + (sales.length - 3));
    expect(good).toBeTruthy();
  });
});
