import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { runCapture, type CaptureResult } from '../../capture/run-capture.js';
import { localLogShardMap } from '../../capture/publish/watermark-shard-map.js';
import { loaderEmfLine } from '../../loader/lambda/emf.js';
import { runLoaderLoop, type LoadSummary } from '../../loader/run-loader.js';
import { readWarehouseStatus } from '../../loader/warehouse-status.js';
import { silentLogger } from '../../platform/logger.js';
import { METRIC } from '../../platform/metrics.js';
import { runLocalProcessor } from '../../stream-processors/local-processor.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { openLocalLog, type LocalLogChangeStream } from '../../stream/local-log/local-log.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue 12, item 3: the capture's heartbeat travels as a watermark through the stream (every
 * shard), the processor and the loader. On a quiet source it keeps advancing (its age stays within
 * a heartbeat interval plus the pipeline's latency); when any stage stops it stops, and its age, the
 * metric the WarehouseStale alarm watches, grows. Real Postgres source and warehouse, the local log
 * with 2 shards, the real processor and loader, all in this process so each can be stopped alone.
 */
const HEARTBEAT_MS = 500;
/** Heartbeat interval + capture/stream/processor/loader latency on a shared 2-core machine, generously. */
const BOUND_MS = HEARTBEAT_MS + 2_500;
/** The alarm's threshold in this test (the real one is minutes): a stuck stage crosses it, a quiet source never does. */
const STALE_MS = 4_000;

/** A stage running in the background until stopped (aborted, then awaited); it can be started again. */
function stoppableTask(run: (signal: AbortSignal) => Promise<void>) {
  let running: { abort: AbortController; done: Promise<void> } | undefined;
  return {
    start(): void {
      const abort = new AbortController();
      running = { abort, done: run(abort.signal) };
    },
    async stop(): Promise<void> {
      running?.abort.abort();
      await running?.done;
      running = undefined;
    },
  };
}

describe('watermark through the pipeline', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let dir: string;
  let log: LocalLogChangeStream;
  const captureAbort = new AbortController();
  let capture: Promise<CaptureResult>;
  let writer: Awaited<ReturnType<LocalLogChangeStream['writer']>> | undefined;
  const summaries: LoadSummary[] = [];
  let processed: LocalDirObjectStore;
  /** Join state survives processor restarts (as the local store's files do). */
  const state = new MemoryJoinStateStore();

  const processor = stoppableTask(async (signal) => {
    const consumer = await log.consumer('processor');
    await runLocalProcessor({ consumer, state, processed, logger: silentLogger, signal, maxWaitMs: 100 }).finally(() => consumer.close());
  });
  const loader = stoppableTask((signal) =>
    runLoaderLoop({ warehouseUrl: warehouse.url, processed, schema: 'star', logger: silentLogger, intervalMs: 200, signal, onSummary: (s) => summaries.push(s) }),
  );
  /** The metric as the loader emits it (EMF), from its latest run. */
  const lastMetric = () => {
    const emf = JSON.parse(loaderEmfLine(summaries[summaries.length - 1]!));
    return emf[METRIC.warehouseWatermarkAgeMs] as number | undefined;
  };
  const status = () => readWarehouseStatus(warehouse.url, 'star');

  beforeAll(async () => {
    source = await createTestDatabase('watermark source');
    warehouse = await createTestDatabase('watermark warehouse');
    await createTotesysSchema(source.url);
    await seedParents(source.url);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'watermark-'));
    processed = new LocalDirObjectStore(path.join(dir, 'processed'));
    log = openLocalLog(path.join(dir, 'stream'), { shards: 2, logger: silentLogger });
    writer = await log.writer();
    capture = runCapture({
      sourceUrl: source.url,
      config: { capture: { slotName: 'wm', publicationName: 'wm', replicaIdentityFull: true, heartbeatIntervalMs: HEARTBEAT_MS } },
      writer,
      logger: silentLogger,
      signal: captureAbort.signal,
      shardMap: localLogShardMap(2),
    });
    processor.start();
    loader.start();
    // Some real changes first, then the source goes quiet.
    await withClient(source.url, (c) => c.query(INSERT_SALES_ORDERS, [50]));
    await waitFor(async () => ((await status()).rowsByTable.fact_sales_order ?? 0) >= 50, { what: 'changes loaded', timeoutMs: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await loader.stop();
    await processor.stop();
    captureAbort.abort();
    await capture?.catch(() => undefined);
    await writer?.close().catch(() => undefined);
    await source?.drop();
    await warehouse?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('advances on a quiet source: the age stays within a heartbeat interval plus the pipeline latency, on both shards', async () => {
    const ages: number[] = [];
    const watermarks = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const s = await status();
      expect(s.watermarkTs).not.toBeNull();
      ages.push(s.watermarkAgeMs!);
      watermarks.add(s.watermarkTs!);
      expect(lastMetric()).toBeLessThan(BOUND_MS);
      expect(lastMetric()).toBeLessThan(STALE_MS); // a quiet source never alarms
    }
    expect(Math.max(...ages)).toBeLessThan(BOUND_MS);
    expect(watermarks.size).toBeGreaterThan(4); // it moves, with no change at the source
    const shards = await withClient(warehouse.url, (c) => c.query<{ shard_id: string }>('SELECT shard_id FROM star.load_watermarks ORDER BY 1'));
    expect(shards.rows.map((r) => r.shard_id)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    // The newest commit time, the old freshness figure, only grows on a quiet source.
    expect((await status()).freshnessMs!).toBeGreaterThan(5_000);
  });

  it('the watermark covers every change committed before it', async () => {
    const committed = await withClient(source.url, async (c) => {
      await c.query(INSERT_SALES_ORDERS, [20]);
      return (await c.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0].now;
    });
    await waitFor(async () => {
      const s = await status();
      return s.watermarkTs !== null && Date.parse(s.watermarkTs) > committed.getTime();
    }, { what: 'watermark past the commit', timeoutMs: 15_000 });
    expect((await status()).rowsByTable.fact_sales_order).toBe(70);
  });

  it('stops when the processor stops: its age grows past the alarm threshold on the metric; it recovers on restart', async () => {
    await processor.stop();
    const frozen = (await status()).watermarkTs;
    await new Promise((r) => setTimeout(r, STALE_MS + 1_000));
    const s = await status();
    expect(Date.parse(s.watermarkTs!)).toBeLessThanOrEqual(Date.parse(frozen!) + HEARTBEAT_MS * 2); // at most the batch in flight
    expect(s.watermarkAgeMs!).toBeGreaterThan(STALE_MS);
    expect(lastMetric()).toBeGreaterThan(STALE_MS); // the loader still runs and reports the stuck stage
    processor.start();
    await waitFor(async () => ((await status()).watermarkAgeMs ?? Infinity) < BOUND_MS, { what: 'watermark recovered', timeoutMs: 20_000 });
  });

  it('stops when the loader stops (status shows the age growing), and when capture stops', async () => {
    await loader.stop();
    const frozen = (await status()).watermarkTs;
    await new Promise((r) => setTimeout(r, STALE_MS + 1_000));
    let s = await status();
    expect(s.watermarkTs).toBe(frozen);
    expect(s.watermarkAgeMs!).toBeGreaterThan(STALE_MS);
    loader.start();
    await waitFor(async () => ((await status()).watermarkAgeMs ?? Infinity) < BOUND_MS, { what: 'watermark recovered', timeoutMs: 20_000 });
    // Capture stopped: no heartbeats, no watermarks; the rest of the pipeline runs and reports it.
    captureAbort.abort();
    await capture;
    await new Promise((r) => setTimeout(r, STALE_MS + 1_000));
    s = await status();
    expect(s.watermarkAgeMs!).toBeGreaterThan(STALE_MS);
    expect(lastMetric()).toBeGreaterThan(STALE_MS);
  });
});
