/**
 * Replay throughput. N synthetic, realistic change events (default 1M) archived as GZIP NDJSON in a
 * temp local bucket (Firehose layout, BENCH_EVENTS_PER_OBJECT per object, 2% re-archived duplicates), then:
 *  - baseline: raw decompression + line count of the same objects (node zlib, `zcat | wc -l` style);
 *  - replay read: list + gunzip + validate + external sort into commit order + dedupe, including
 *    the events handed out as objects (events/s, CPU time, peak RSS and heap, sort runs); goal ≥ 50k events/s;
 *  - full rebuild (processor + loader + swap into an embedded Postgres) on BENCH_REBUILD_EVENTS
 *    events (default 1M, as issue 6 asks; 0 skips it), with its read / process / load phases.
 * Every figure has wall time and this process's CPU time (user + system): the machine is shared, and
 * CPU time is the steadier measure. The rebuild's wall time also includes Postgres's own work.
 * Memory: run with NODE_OPTIONS=--max-old-space-size=<MiB> to prove the bound (peak heap includes garbage).
 * Usage: npm run bench:replay   (BENCH_EVENTS=1000000 BENCH_REBUILD_EVENTS=1000000 BENCH_MAX_RUN_MB=64
 *   BENCH_PHASES=baseline,read,rebuild  BENCH_DIR=<dir> keeps the generated archive there and reuses it;
 *   BENCH_LANES=<n> processing lanes of the rebuild, default replay's; BENCH_BATCH=<events> per processed batch, default replay's)
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDatabase } from '../runtime/embedded-postgres.js';
import { openOrderedArchive } from '../replay/order/ordered-archive.js';
import { forEachGzipLine } from '../replay/read/gzip-lines.js';
import { replay, type ReplayPhase } from '../replay/replay.js';
import { LocalDirObjectStore } from '../bucket/local-dir-object-store.js';
import { createLogger } from '../platform/logger.js';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import { generateWorkload, putObject, writeArchive, type ArchivedEvent } from '../test/support/archive-workload.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const REBUILD_EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
const PER_OBJECT = Number(process.env.BENCH_EVENTS_PER_OBJECT ?? 20_000);
const MAX_RUN_BYTES = Number(process.env.BENCH_MAX_RUN_MB ?? 64) * 1024 * 1024;
const PHASES = new Set((process.env.BENCH_PHASES ?? 'baseline,read,rebuild').split(','));
const KEEP_DIR = process.env.BENCH_DIR;
/** Processing lanes of the rebuild (unset: replay's default). */
const LANES = process.env.BENCH_LANES ? Number(process.env.BENCH_LANES) : undefined;
const BATCH = process.env.BENCH_BATCH ? Number(process.env.BENCH_BATCH) : undefined;
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

/** Wall and CPU seconds since start. */
function stopwatch() {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}

const fmt = (t: { seconds: number; cpuSeconds: number }, events?: number) =>
  `${t.seconds.toFixed(2)} s wall / ${t.cpuSeconds.toFixed(2)} s CPU` + (events ? ` = ${Math.round(events / t.seconds)} events/s wall, ${Math.round(events / t.cpuSeconds)} events/CPU-s` : '');

async function archive(store: LocalDirObjectStore, events: ArchivedEvent[]): Promise<void> {
  await writeArchive(store, events, PER_OBJECT);
  const again = events.filter((_, i) => i % 50 === 7 && events[i]!.event.table === 'payment');
  for (let i = 0; i < again.length; i += PER_OBJECT) await putObject(store, again.slice(i, i + PER_OBJECT), again[i]!.arrivalMs + 7_200_000);
}

async function baseline(store: LocalDirObjectStore) {
  const time = stopwatch();
  let lines = 0;
  for await (const object of store.list('changes/')) {
    const result = await forEachGzipLine(await store.get(object.key), (batch) => void (lines += batch.length));
    if (result.gzipError) throw result.gzipError;
  }
  return { lines, ...time() };
}

async function readSortDedupe(store: LocalDirObjectStore) {
  global.gc?.();
  const memory = memorySampler();
  const time = stopwatch();
  const ordered = await openOrderedArchive({ ingestion: store, logger, maxRunBytes: MAX_RUN_BYTES });
  const scan = time();
  let events = 0;
  for await (const batch of ordered.batches(10_000)) events += batch.length;
  await ordered.close();
  return { events, read: ordered.scan.eventsRead, duplicates: ordered.merge.duplicates, runs: ordered.merge.runs, time: time(), scan, memory: memory.stop(), issues: ordered.issues.total };
}

async function prepare(store: LocalDirObjectStore, subset: LocalDirObjectStore): Promise<void> {
  const events = generateWorkload(EVENTS, { secondsBetweenTransactions: 3 });
  await archive(store, events);
  if (REBUILD_EVENTS > 0) await archive(subset, events.slice(0, REBUILD_EVENTS));
}

async function main(): Promise<void> {
  const root = KEEP_DIR ? path.resolve(KEEP_DIR) : await fs.mkdtemp(path.join(os.tmpdir(), 'bench-replay-'));
  try {
    const t = performance.now();
    const store = new LocalDirObjectStore(path.join(root, 'ingestion'));
    const subset = new LocalDirObjectStore(path.join(root, 'ingestion-rebuild'));
    const marker = path.join(root, `prepared-${EVENTS}-${REBUILD_EVENTS}-${PER_OBJECT}`);
    // Generated events live only inside prepare(), so the memory measured below is the replay's.
    if (!existsSync(marker)) {
      await fs.rm(path.join(root, 'ingestion'), { recursive: true, force: true });
      await fs.rm(path.join(root, 'ingestion-rebuild'), { recursive: true, force: true });
      await prepare(store, subset);
      await fs.writeFile(marker, '');
    }
    let compressed = 0;
    let objects = 0;
    for await (const o of store.list('changes/')) (compressed += o.size), objects++;
    console.log(`archive: ${EVENTS} events in ${objects} objects, ${(compressed / 2 ** 20).toFixed(1)} MiB gzip (ready in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

    let baseRate: number | null = null;
    if (PHASES.has('baseline')) {
      const base = await baseline(store);
      baseRate = base.lines / base.seconds;
      console.log(`baseline zlib line count: ${base.lines} lines in ${fmt(base, base.lines)}`);
    }

    if (PHASES.has('read')) {
      const r = await readSortDedupe(store);
      const rate = r.read / r.time.seconds;
      console.log(
        `replay read+sort+dedupe: ${r.read} read, ${r.events} unique, ${r.duplicates} duplicates, ${r.runs} runs, ${fmt(r.time, r.read)} (scan ${fmt(r.scan)}) ` +
          `(goal >= 50000: ${rate >= 50_000 ? 'met' : 'NOT met'})${baseRate ? `, ratio to baseline ${(rate / baseRate).toFixed(2)}` : ''}, peak RSS ${r.memory.rssMb} MiB, peak heap ${r.memory.heapMb} MiB, issues ${r.issues}`,
      );
    }

    if (REBUILD_EVENTS > 0 && PHASES.has('rebuild')) {
      const pgRoot = path.join(root, 'pg');
      await fs.rm(pgRoot, { recursive: true, force: true });
      await fs.rm(path.join(root, 'processed'), { recursive: true, force: true });
      const server = await startEmbeddedPostgres({ dataDir: pgRoot, logger, settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
      try {
        await ensureDatabase(server.url('postgres'), 'warehouse');
        const processed = new LocalDirObjectStore(path.join(root, 'processed'));
        const memory = memorySampler();
        const time = stopwatch();
        const phases: { phase: ReplayPhase; at: ReturnType<typeof stopwatch> }[] = [];
        const summary = await replay({
          ingestion: subset,
          processed,
          warehouseUrl: server.url('warehouse'),
          rebuild: true,
          lanes: LANES,
          batchSize: BATCH,
          logger,
          onProgress: (p) => {
            if (phases.at(-1)?.phase !== p.phase) phases.push({ phase: p.phase, at: stopwatch() });
          },
        });
        const total = time();
        const mem = memory.stop();
        // Each phase's figures run until the next phase started.
        const ends = phases.map((p) => p.at());
        const breakdown = phases.map((p, i) => {
          const end = ends[i]!;
          const next = ends[i + 1] ?? { seconds: 0, cpuSeconds: 0 };
          return `${p.phase} ${(end.seconds - next.seconds).toFixed(2)} s wall / ${(end.cpuSeconds - next.cpuSeconds).toFixed(2)} s CPU`;
        });
        const rate = summary.eventsReplayed / total.seconds;
        console.log(
          `full rebuild: ${summary.eventsReplayed} events, ${summary.manifests} manifests, ${summary.rowsLoaded} rows in ${fmt(total, summary.eventsReplayed)} ` +
            `(goal >= 50000: ${rate >= 50_000 ? 'met' : 'NOT met'}), ${summary.lanes} lane(s), peak RSS ${mem.rssMb} MiB, partial ${summary.partial}; ${breakdown.join(', ')}`,
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    if (!KEEP_DIR) await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
