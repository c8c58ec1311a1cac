import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeObjectKey } from '../../archive/archive-layout.js';
import { openOrderedArchive, type OrderedArchiveOptions } from '../../replay/order/ordered-archive.js';
import type { ObjectStore } from '../../bucket/object-store.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import { generateWorkload, putObject, writeArchive, type ArchivedEvent } from '../support/archive-workload.js';

/** Threads of this process: scan workers (and their loader threads) must be gone after close(). */
const threadCount = () => readdirSync('/proc/self/task').length;

async function readAll(options: Omit<OrderedArchiveOptions, 'logger'>, stopAfter = Infinity) {
  const archive = await openOrderedArchive({ ...options, logger: silentLogger });
  const events: ChangeEvent[] = [];
  try {
    for await (const batch of archive.batches(333)) {
      events.push(...batch);
      if (events.length >= stopAfter) break;
    }
  } finally {
    await archive.close();
  }
  return { archive, events };
}

describe('replay scan on worker threads', () => {
  let root: string;
  let store: LocalDirObjectStore;
  let events: ArchivedEvent[];
  let bad: string;
  let variant: ChangeEvent;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'scan-workers-'));
    store = new LocalDirObjectStore(path.join(root, 'bucket'));
    events = generateWorkload(3000, { secondsBetweenTransactions: 20 });
    await writeArchive(store, events, 89);
    // Copies from a re-archive, one of them archived BEFORE its original (an earlier hour) and
    // broken: the first valid copy must win whichever thread read which object.
    const sales = events.filter((e) => e.event.table === 'sales_order' && e.event.op === 'c');
    const broken: ArchivedEvent = { ...sales[2]!, text: sales[2]!.text.replace(/"after":\{[^}]*\}/, '"after":null') };
    // A valid copy that differs from the original (same id and version): being archived first, it is
    // the one kept, deterministically (copies are ordered by where they were archived).
    variant = { ...sales[3]!.event, after: { ...sales[3]!.event.after!, units_sold: 1 } };
    const variantCopy: ArchivedEvent = { ...sales[3]!, event: variant, text: JSON.stringify(variant) };
    bad = await putObject(store, [sales[1]!, broken, variantCopy], events[0]!.arrivalMs - 3_600_000);
    await putObject(store, events.filter((e) => e.event.table === 'payment').slice(0, 150), events.at(-1)!.arrivalMs + 3_600_000);
    // Bad input of every kind, in one object.
    const lines = [sales[5]!.text, 'not json', JSON.stringify({ ...sales[6]!.event, v: 2 }), JSON.stringify({ ...sales[6]!.event, table: 'nope' }), ' ' + sales[7]!.text, sales[8]!.text];
    const body = Buffer.from(lines.join('\n') + '\n' + sales[9]!.text.slice(0, 50));
    await store.put(changeObjectKey('sales_order', sales[5]!.arrivalMs, body), gzipSync(body));
    await store.put(changeObjectKey('sales_order', sales[5]!.arrivalMs + 1, Buffer.from('x')), Buffer.from('not gzip at all'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('gives exactly what the single-thread scan gives: events, order, duplicates, issues with file and line', async () => {
    const inline = await readAll({ ingestion: store, scanWorkers: 0, maxRunBytes: 128 * 1024 });
    const threads = threadCount();
    const workers = await readAll({ ingestion: store, scanWorkers: 2, maxRunBytes: 128 * 1024 });
    expect(threadCount()).toBeLessThanOrEqual(threads); // workers terminated

    expect(workers.archive.merge.runs).toBeGreaterThan(4); // spilled runs of both workers, merged
    expect(workers.events).toEqual(inline.events);
    expect(workers.archive.issues.issues).toEqual(inline.archive.issues.issues);
    expect(workers.archive.issues.counts).toEqual(inline.archive.issues.counts);
    expect(workers.archive.scan).toEqual(inline.archive.scan);
    expect(workers.archive.merge.duplicates).toBe(inline.archive.merge.duplicates);

    // And what that is: every event once, in commit order, the broken early copy reported once.
    expect(new Set(workers.events.map((e) => e.id)).size).toBe(events.length);
    expect(workers.events.map((e) => e.id).sort()).toEqual(events.map((e) => e.event.id).sort());
    expect(workers.archive.merge.duplicates).toBe(1 + 1 + 150 + 3); // sales[1], [3], the payments, sales[5], [7] (spelled with a space) and [8]
    expect(workers.events.find((e) => e.id === variant.id)).toEqual(variant);
    const kinds = workers.archive.issues.issues.map((i) => [i.kind, i.file === bad ? 'early' : 'mixed', i.line]);
    expect(kinds.filter(([, where]) => where === 'early')).toEqual([['invalid-event', 'early', 2]]);
    expect(workers.archive.issues.counts).toEqual({ 'malformed-json': 1, 'unsupported-version': 1, 'unknown-table': 1, 'truncated-line': 1, 'corrupt-gzip': 1, 'invalid-event': 1 });
  });

  it('never touches the disk when the selection fits in the run budget', async () => {
    const { archive, events: out } = await readAll({ ingestion: store, scanWorkers: 2 });
    expect(archive.merge.spilledBytes).toBe(0);
    expect(archive.merge.runs).toBe(2); // one in-memory run per worker
    expect(out).toHaveLength(events.length);
  });

  it('stops its workers and removes its run files when the consumer stops early', async () => {
    const tempDir = path.join(root, 'runs-early');
    const threads = threadCount();
    const { events: out } = await readAll({ ingestion: store, scanWorkers: 2, maxRunBytes: 64 * 1024, tempDir }, 500);
    expect(out.length).toBeGreaterThanOrEqual(500);
    expect(await fs.readdir(tempDir)).toEqual([]);
    expect(threadCount()).toBeLessThanOrEqual(threads);
  });

  it('fails cleanly when a worker cannot write its runs: error reported, workers stopped, files removed', async () => {
    const tempDir = path.join(root, 'runs-fail');
    let gets = 0;
    let removed = false;
    // After a few objects the run directory disappears under the workers: their next spill fails.
    // The workers keep writing meanwhile, so one removal may race a new file (ENOTEMPTY): the store
    // itself must not fail (that would be an unreadable object, not this case), it tries again on
    // the next object until the directories are gone.
    const vanishing: ObjectStore = Object.create(store, {
      get: {
        value: async (key: string) => {
          if (++gets >= 20 && !removed) {
            try {
              for (const dir of await fs.readdir(tempDir)) await fs.rm(path.join(tempDir, dir), { recursive: true, force: true, maxRetries: 5 });
              removed = true;
            } catch {
              // retried on the next object
            }
          }
          return store.get(key);
        },
      },
    });
    const threads = threadCount();
    await expect(openOrderedArchive({ ingestion: vanishing, logger: silentLogger, scanWorkers: 2, maxRunBytes: 16 * 1024, tempDir })).rejects.toThrow(/scan worker failed: ENOENT/);
    expect(await fs.readdir(tempDir)).toEqual([]);
    expect(threadCount()).toBeLessThanOrEqual(threads);
  });
});
