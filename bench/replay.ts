/**
 * Replay throughput. N synthetic, realistic change events (default 1M) archived as GZIP NDJSON in a
 * temp local bucket (Firehose layout, BENCH_EVENTS_PER_OBJECT per object, 2% re-archived duplicates), then:
 *  - baseline: raw decompression + line count of the same objects (node zlib, `zcat | wc -l` style);
 *  - replay read: list + gunzip + validate + external sort into commit order + dedupe (events/s,
 *    peak RSS and heap, sort runs); goal ≥ 50k events/s;
 *  - full rebuild (processor + loader + swap into an embedded Postgres) on BENCH_REBUILD_EVENTS
 *    events (default 200k; 0 skips it).
 * Memory: run with NODE_OPTIONS=--max-old-space-size=<MiB> to prove the bound (peak heap includes garbage).
 * Usage: npm run bench:replay   (BENCH_EVENTS=1000000 BENCH_REBUILD_EVENTS=200000 BENCH_MAX_RUN_MB=64)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDatabase } from '../runtime/embedded-postgres.js';
import { openOrderedArchive } from '../archive/ordered-archive.js';
import { forEachGzipLine } from '../archive/gzip-lines.js';
import { replay } from '../archive/replay.js';
import { LocalDirObjectStore } from '../bucket/local-dir-object-store.js';
import { createLogger } from '../core/logger.js';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import { generateWorkload, putObject, writeArchive, type ArchivedEvent } from '../test/support/archive-workload.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REBUILD_EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 200_000);
const PER_OBJECT = Number(process.env.BENCH_EVENTS_PER_OBJECT ?? 20_000);
const MAX_RUN_BYTES = Number(process.env.BENCH_MAX_RUN_MB ?? 64) * 1024 * 1024;
const logger = createLogger({ service: 'bench-replay', level: 'warn' });

function memorySampler() {
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  return { stop: () => (clearInterval(timer), sample(), { rssMb: Math.round(rss / 2 ** 20), heapMb: Math.round(heap / 2 ** 20) }) };
}

async function archive(store: LocalDirObjectStore, events: ArchivedEvent[]): Promise<void> {
  await writeArchive(store, events, PER_OBJECT);
  const again = events.filter((_, i) => i % 50 === 7 && events[i]!.event.table === 'payment');
  for (let i = 0; i < again.length; i += PER_OBJECT) await putObject(store, again.slice(i, i + PER_OBJECT), again[i]!.arrivalMs + 7_200_000);
}

async function baseline(store: LocalDirObjectStore): Promise<{ lines: number; seconds: number }> {
  const started = performance.now();
  let lines = 0;
  for await (const object of store.list('changes/')) {
    const result = await forEachGzipLine(await store.get(object.key), (batch) => void (lines += batch.length));
    if (result.gzipError) throw result.gzipError;
  }
  return { lines, seconds: (performance.now() - started) / 1000 };
}

async function readSortDedupe(store: LocalDirObjectStore) {
  global.gc?.();
  const memory = memorySampler();
  const started = performance.now();
  const ordered = await openOrderedArchive({ ingestion: store, logger, maxRunBytes: MAX_RUN_BYTES });
  const scanned = performance.now();
  let events = 0;
  for await (const batch of ordered.batches(10_000)) events += batch.length;
  await ordered.close();
  const seconds = (performance.now() - started) / 1000;
  return { events, read: ordered.scan.eventsRead, duplicates: ordered.merge.duplicates, runs: ordered.merge.runs, seconds, scanSeconds: (scanned - started) / 1000, memory: memory.stop(), issues: ordered.issues.total };
}

async function prepare(store: LocalDirObjectStore, subset: LocalDirObjectStore): Promise<void> {
  const events = generateWorkload(EVENTS, { secondsBetweenTransactions: 3 });
  await archive(store, events);
  if (REBUILD_EVENTS > 0) await archive(subset, events.slice(0, REBUILD_EVENTS));
}

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-replay-'));
  try {
    let t = performance.now();
    const store = new LocalDirObjectStore(path.join(root, 'ingestion'));
    const subset = new LocalDirObjectStore(path.join(root, 'ingestion-rebuild'));
    // Generated events live only inside prepare(), so the memory measured below is the replay's.
    await prepare(store, subset);
    let compressed = 0;
    let objects = 0;
    for await (const o of store.list('changes/')) (compressed += o.size), objects++;
    console.log(`archive: ${EVENTS} events in ${objects} objects, ${(compressed / 2 ** 20).toFixed(1)} MiB gzip (prepared in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

    const base = await baseline(store);
    const baseRate = base.lines / base.seconds;
    console.log(`baseline zlib line count: ${base.lines} lines in ${base.seconds.toFixed(2)} s = ${Math.round(baseRate)} lines/s`);

    const r = await readSortDedupe(store);
    const rate = r.read / r.seconds;
    console.log(
      `replay read+sort+dedupe: ${r.read} read, ${r.events} unique, ${r.duplicates} duplicates, ${r.runs} runs, ${r.seconds.toFixed(2)} s (scan ${r.scanSeconds.toFixed(2)} s) = ${Math.round(rate)} events/s ` +
        `(goal >= 50000: ${rate >= 50_000 ? 'met' : 'NOT met'}), ratio to baseline ${(rate / baseRate).toFixed(2)}, peak RSS ${r.memory.rssMb} MiB, peak heap ${r.memory.heapMb} MiB, issues ${r.issues}`,
    );

    if (REBUILD_EVENTS > 0) {
      const pgRoot = path.join(root, 'pg');
      const server = await startEmbeddedPostgres({ dataDir: pgRoot, logger, settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
      try {
        await ensureDatabase(server.url('postgres'), 'warehouse');
        const processed = new LocalDirObjectStore(path.join(root, 'processed'));
        t = performance.now();
        const memory = memorySampler();
        const summary = await replay({ ingestion: subset, processed, warehouseUrl: server.url('warehouse'), rebuild: true, logger });
        const mem = memory.stop();
        const seconds = (performance.now() - t) / 1000;
        console.log(
          `full rebuild: ${summary.eventsReplayed} events, ${summary.manifests} manifests, ${summary.rowsLoaded} rows in ${seconds.toFixed(1)} s = ${Math.round(summary.eventsReplayed / seconds)} events/s ` +
            `(goal >= 50000: ${summary.eventsReplayed / seconds >= 50_000 ? 'met' : 'NOT met'}), peak RSS ${mem.rssMb} MiB, partial ${summary.partial}`,
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
