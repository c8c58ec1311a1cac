import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { partitionKeyOf, serializeChangeEvent, type ChangeEvent } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import { METRIC } from '../../platform/metrics.js';
import { decodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import { openLocalLog, type LocalLogChangeStream } from '../../stream/local-log/local-log.js';
import { runLocalProcessor } from '../../stream-processors/local-processor.js';
import type { ProcessRecordsResult } from '../../stream-processors/process-records.js';
import { CountingMetrics } from '../support/counting-metrics.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { listKeys, RecordingObjectStore } from '../support/recording-object-store.js';

let dir: string;
let log: LocalLogChangeStream;
let bucket: RecordingObjectStore;
let state: LocalJoinStateStore;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'local-processor-'));
  log = openLocalLog(path.join(dir, 'stream'), { shards: 2, pollIntervalMs: 5 });
  bucket = new RecordingObjectStore(new LocalDirObjectStore(path.join(dir, 'processed')));
  state = await LocalJoinStateStore.open(path.join(dir, 'state'), silentLogger);
});

afterEach(async () => {
  await state.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function publish(items: (ChangeEvent | string | Uint8Array)[]): Promise<void> {
  const writer = await log.writer();
  try {
    await writer.put(
      items.map((item, i) =>
        typeof item === 'string' || item instanceof Uint8Array
          ? { partitionKey: `poison:${i}`, data: typeof item === 'string' ? Buffer.from(item) : item }
          : { partitionKey: partitionKeyOf(item), data: Buffer.from(serializeChangeEvent(item)) },
      ),
    );
  } finally {
    await writer.close();
  }
}

/** The stage's consumer, this file's state and bucket, and its stop signal. */
const stageOf = (consumer: Awaited<ReturnType<typeof log.consumer>>, signal: AbortSignal) => ({ consumer, state, processed: bucket, logger: silentLogger, signal });

/** Runs the processor until `until` holds (bounded), then stops it. */
async function runUntil(
  until: (results: ProcessRecordsResult[]) => boolean,
  extra: Partial<Parameters<typeof runLocalProcessor>[0]> = {},
  given?: Awaited<ReturnType<typeof log.consumer>>,
) {
  const consumer = given ?? (await log.consumer('stream-processor'));
  const controller = new AbortController();
  const results: ProcessRecordsResult[] = [];
  const deadline = setTimeout(() => controller.abort(), 15_000);
  const running = runLocalProcessor({
    ...stageOf(consumer, controller.signal),
    maxWaitMs: 20,
    retryInitialDelayMs: 10,
    ...extra,
    onBatch: (result) => {
      results.push(result);
      if (until(results)) controller.abort();
    },
  });
  await running;
  clearTimeout(deadline);
  const lag = await consumer.lag();
  await consumer.close();
  return { results, lag };
}

const events = () => [
  changeEvent('department', 'r', sourceRow.department(), { lsn: 0x1000 }),
  changeEvent('staff', 'r', sourceRow.staff({ staff_id: 19 }), { lsn: 0x1000 }),
  changeEvent('sales_order', 'c', sourceRow.sales_order(), { lsn: 0x2000, seq: 1 }),
  changeEvent('sales_order', 'u', sourceRow.sales_order({ units_sold: 1 }), { lsn: 0x2100, seq: 1 }),
  changeEvent('payment', 'c', sourceRow.payment(), { lsn: 0x2200, seq: 1 }),
];

const processedEvents = (results: ProcessRecordsResult[]) => results.reduce((n, r) => n + r.events, 0);

describe('runLocalProcessor (embedded stream log)', () => {
  it('processes every record, quarantines poison, checkpoints after the manifest, and resumes after a restart', async () => {
    const metrics = new CountingMetrics();
    await publish([...events(), '{not json', Buffer.from([0xff, 0xfe, 0x00]), JSON.stringify({ ...changeEvent('design', 'c', sourceRow.design()), table: '_prisma_migrations' })]);
    const { results, lag } = await runUntil((r) => processedEvents(r) === 5 && r.reduce((n, x) => n + x.quarantined, 0) === 3, { metrics });
    expect(processedEvents(results)).toBe(5);
    expect(lag.every((shard) => shard.records === 0)).toBe(true);
    expect(metrics.get(METRIC.eventsQuarantined)).toBe(3);
    const quarantine = await Promise.all((await listKeys(bucket, 'quarantine/')).map(async (k) => JSON.parse(Buffer.from(await bucket.get(k)).toString('utf8'))));
    expect(quarantine.map((q) => q.reason).sort()).toEqual(['malformed-json', 'malformed-json', 'unknown-table']);
    const binary = quarantine.find((q) => q.recordEncoding === 'base64');
    expect(Buffer.from(binary.record, 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x00]));
    expect(quarantine.every((q) => typeof q.shardId === 'string' && /^\d+$/.test(q.sequenceNumber))).toBe(true);
    const salesFiles = (await listKeys(bucket, 'fact_sales_order/'));
    const sales = (await Promise.all(salesFiles.map(async (k) => decodeWarehouseParquet('fact_sales_order', await bucket.get(k))))).flat();
    expect(sales.map((r) => r.op)).toEqual(['c', 'u']); // per-key order kept

    // A restarted processor resumes after the checkpoint: only new records are processed.
    const manifestsBefore = (await listKeys(bucket, 'manifests/')).length;
    await publish([changeEvent('design', 'u', sourceRow.design({ design_id: 50 }), { lsn: 0x3000 })]);
    const again = await runUntil((r) => processedEvents(r) >= 1);
    expect(processedEvents(again.results)).toBe(1);
    expect((await listKeys(bucket, 'manifests/')).length).toBe(manifestsBefore + 1);
  });

  it('with a batching window, gathers a trickle of records into one batch, keeping per-key order', async () => {
    const trickle = events();
    // The window is long beside the ~160 ms of publishing, so a slow (loaded) machine still fits the trickle in it.
    const running = runUntil((r) => processedEvents(r) === trickle.length + 1, { batchWindowMs: 3_000 });
    // A first record after a quiet spell goes out at once; the window starts when its batch closes.
    await publish([changeEvent('design', 'u', sourceRow.design({ design_id: 50 }), { lsn: 0x500 })]);
    while ((await listKeys(bucket, 'manifests/')).length === 0) await new Promise((r) => setTimeout(r, 10));
    for (const event of trickle) {
      await publish([event]);
      await new Promise((r) => setTimeout(r, 40));
    }
    const { results } = await running;
    expect(processedEvents(results)).toBe(trickle.length + 1);
    expect(results.length).toBe(2); // without the window: one batch per record
    const sales = (await Promise.all((await listKeys(bucket, 'fact_sales_order/')).map(async (k) => decodeWarehouseParquet('fact_sales_order', await bucket.get(k))))).flat();
    expect(sales.map((r) => r.op)).toEqual(['c', 'u']);
  });

  it('a batch closes one window after the batch before it closed: the time that batch took is part of the window, not added to it', async () => {
    const windowMs = 2_000;
    const putAt: number[] = [];
    const put = bucket.put.bind(bucket);
    let manifests = 0;
    bucket.put = async (key, body) => {
      // The first batch is slow to write (1.5 s: a busy disk).
      if (key.startsWith('manifests/') && ++manifests === 1) await new Promise((r) => setTimeout(r, 1_500));
      await put(key, body);
      if (key.startsWith('manifests/')) putAt.push(Date.now());
    };
    const [first, ...rest] = events();
    const started = Date.now();
    await publish([first!]);
    const running = runUntil((r) => processedEvents(r) === 5, { batchWindowMs: windowMs });
    await new Promise((r) => setTimeout(r, 300));
    await publish(rest); // read once the first batch is written, ~1.5 s after it closed
    const { results } = await running;
    expect(results.length).toBe(2);
    // The first batch closed at once (nothing before it), so the second closes ~2 s after the
    // start; counted from its own first read (~1.5 s) it would close after ~3.5 s.
    expect(putAt[1]! - started).toBeLessThan(3_000);
    expect(putAt[1]! - started).toBeGreaterThanOrEqual(windowMs - 100);
  });

  it('with idleCloseMs, a burst goes out as soon as the stream is idle, long before the window ends', async () => {
    await publish(events());
    const started = Date.now();
    const { results } = await runUntil((r) => processedEvents(r) === 5, { batchWindowMs: 10_000, idleCloseMs: 50 });
    expect(results.length).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000); // without the early close: the 10 s window
  });

  it('with idleCloseMs, a steady trickle still keeps the window and is gathered into one batch', async () => {
    const trickle = events();
    const running = runUntil((r) => processedEvents(r) === trickle.length + 1, { batchWindowMs: 3_000, idleCloseMs: 400 });
    await publish([changeEvent('design', 'u', sourceRow.design({ design_id: 50 }), { lsn: 0x500 })]);
    while ((await listKeys(bucket, 'manifests/')).length === 0) await new Promise((r) => setTimeout(r, 10));
    for (const event of trickle) {
      await publish([event]);
      await new Promise((r) => setTimeout(r, 40));
    }
    const { results } = await running;
    expect(results.length).toBe(2);
  });

  it('reports idle as soon as a read finds nothing (everything before it checkpointed), not after maxWaitMs, and stops at once while waiting', async () => {
    await publish(events());
    const consumer = await log.consumer('stream-processor');
    const controller = new AbortController();
    const started = Date.now();
    let idleAfterMs: number | undefined;
    let lagAtIdle: number | undefined;
    const probe = await log.consumer('stream-processor'); // reads the checkpoint files the stage writes
    const running = runLocalProcessor({
      ...stageOf(consumer, controller.signal),
      maxWaitMs: 10_000,
      onIdle: () => {
        if (idleAfterMs !== undefined) return;
        idleAfterMs = Date.now() - started;
        void probe.lag().then((lag) => {
          lagAtIdle = lag.reduce((n, shard) => n + shard.records, 0);
          controller.abort(); // now the stage waits for records (maxWaitMs): the abort ends that wait
        });
      },
    });
    await running;
    const stoppedAfterMs = Date.now() - started;
    expect(idleAfterMs).toBeLessThan(3_000); // before: the whole 10 s maxWaitMs
    expect(lagAtIdle).toBe(0);
    expect(stoppedAfterMs).toBeLessThan(5_000); // before: idle after 10 s, then a 10 s wait to stop
    expect(await listKeys(bucket, 'manifests/')).toHaveLength(1);
    await probe.close();
    await consumer.close();
  });

  it('behind (full batches), reads the next batch while one is written; a failed batch drops what was read ahead: every record once, in order per key', async () => {
    // 40 updates of 4 sales orders (both shards), units_sold counting up per order.
    const updates = Array.from({ length: 40 }, (_, i) => changeEvent('sales_order', 'u', sourceRow.sales_order({ sales_order_id: 1 + (i % 4), units_sold: i }), { lsn: 0x10000 + i * 0x100, seq: 0 }));
    await publish(updates);
    const consumer = await log.consumer('stream-processor');
    const calls: string[] = [];
    const read = consumer.read.bind(consumer);
    consumer.read = (options) => {
      calls.push('read');
      return read(options);
    };
    const checkpoint = consumer.checkpoint.bind(consumer);
    consumer.checkpoint = (shardId, sequenceNumber) => {
      calls.push('checkpoint');
      return checkpoint(shardId, sequenceNumber);
    };
    // The third manifest fails once, while the batch after it has been read ahead.
    let manifests = 0;
    const put = bucket.put.bind(bucket);
    bucket.put = (key, body) => (key.startsWith('manifests/') && ++manifests === 3 ? Promise.reject(Object.assign(new Error('bucket unavailable'), { code: 'ECONNREFUSED' })) : put(key, body));
    const { results, lag } = await runUntil((r) => processedEvents(r) >= 40, { maxBatchRecords: 4, retryInitialDelayMs: 5 }, consumer);
    expect(calls.indexOf('checkpoint')).toBeGreaterThan(1); // two reads (this batch and the next) before the first checkpoint
    expect(processedEvents(results)).toBe(40); // none lost, none twice
    expect(lag.every((shard) => shard.records === 0)).toBe(true);
    const keys = (await listKeys(bucket, 'manifests/')).sort();
    const sales: { sales_order_id: unknown; units_sold: unknown }[] = [];
    for (const key of keys) {
      const manifest = JSON.parse(Buffer.from(await bucket.get(key)).toString('utf8')) as { files: { table: string; key: string }[] };
      for (const file of manifest.files.filter((f) => f.table === 'fact_sales_order')) sales.push(...((await decodeWarehouseParquet('fact_sales_order', await bucket.get(file.key))) as typeof sales));
    }
    expect(sales).toHaveLength(40);
    for (let id = 1; id <= 4; id++) {
      const units = sales.filter((r) => r.sales_order_id === id).map((r) => r.units_sold);
      expect(units).toEqual(updates.filter((e) => e.after!.sales_order_id === id).map((e) => e.after!.units_sold)); // per-key order, across manifests in key order
    }
  });

  it('rewinds and retries a batch when the bucket fails, never skipping or checkpointing early', async () => {
    await publish(events());
    bucket.failPuts = /^manifests\//;
    let failures = 0;
    const consumer = await log.consumer('stream-processor');
    const original = consumer.rewind.bind(consumer);
    consumer.rewind = () => {
      failures++;
      if (failures === 3) bucket.failPuts = undefined; // the bucket comes back
      original();
    };
    const { results, lag } = await runUntil((r) => processedEvents(r) === 5, { retryInitialDelayMs: 5 }, consumer);
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(processedEvents(results)).toBe(5);
    expect(lag.every((s) => s.records === 0)).toBe(true);
    const manifests = await listKeys(bucket, 'manifests/');
    expect(manifests.length).toBeGreaterThanOrEqual(1);
  });

  it('does not checkpoint while the batch keeps failing', async () => {
    await publish(events());
    bucket.failPuts = /parquet$/;
    const consumer = await log.consumer('stream-processor');
    const controller = new AbortController();
    let rewinds = 0;
    const original = consumer.rewind.bind(consumer);
    consumer.rewind = () => {
      if (++rewinds === 2) controller.abort();
      original();
    };
    await runLocalProcessor({ consumer, state, processed: bucket, logger: silentLogger, signal: controller.signal, maxWaitMs: 20, retryInitialDelayMs: 5 });
    expect(rewinds).toBe(2);
    expect((await consumer.lag()).reduce((n, s) => n + s.records, 0)).toBe(5);
    expect(await listKeys(bucket, 'manifests/')).toEqual([]);
    await consumer.close();
  });
  it('processes the next batch while the checkpoints of the one before are still being written, and writes checkpoints in batch order', async () => {
    const [first, ...rest] = events();
    await publish([first!]);
    const consumer = await log.consumer('stream-processor');
    const checkpoints: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const checkpoint = consumer.checkpoint.bind(consumer);
    consumer.checkpoint = async (shardId, sequenceNumber) => {
      if (checkpoints.length === 0) {
        checkpoints.push(`${shardId}@${sequenceNumber}`);
        await released; // the first batch's checkpoint hangs (a slow fsync)
      } else checkpoints.push(`${shardId}@${sequenceNumber}`);
      return checkpoint(shardId, sequenceNumber);
    };
    const manifestKeys = async () => (await listKeys(bucket, 'manifests/')).length;
    const running = runUntil((r) => processedEvents(r) === 5, {}, consumer);
    const until = async (what: () => Promise<boolean>) => {
      for (let i = 0; i < 500 && !(await what()); i++) await new Promise((r) => setTimeout(r, 10));
      return what();
    };
    expect(await until(async () => (await manifestKeys()) === 1)).toBe(true);
    await publish(rest);
    // The second batch is processed (its manifest written) while the first one's checkpoint still hangs.
    expect(await until(async () => (await manifestKeys()) === 2)).toBe(true); // before: the loop waited for the checkpoint
    expect(checkpoints).toHaveLength(1); // ... and its own checkpoints wait for the first one's
    release();
    const { results, lag } = await running;
    expect(processedEvents(results)).toBe(5);
    expect(lag.every((shard) => shard.records === 0)).toBe(true);
    expect(checkpoints.length).toBeGreaterThan(1);
  });

  it('a checkpoint that fails rewinds to the last checkpoint: the records are processed again, none skipped', async () => {
    await publish(events());
    const consumer = await log.consumer('stream-processor');
    let failed = 0;
    const checkpoint = consumer.checkpoint.bind(consumer);
    consumer.checkpoint = (shardId, sequenceNumber) =>
      failed++ === 0 ? Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })) : checkpoint(shardId, sequenceNumber);
    let rewinds = 0;
    const rewind = consumer.rewind.bind(consumer);
    consumer.rewind = () => {
      rewinds++;
      rewind();
    };
    const { lag } = await runUntil(() => rewinds > 0 && failed > 2, { retryInitialDelayMs: 5 }, consumer);
    expect(rewinds).toBeGreaterThanOrEqual(1);
    expect(lag.every((shard) => shard.records === 0)).toBe(true);
    // Processed again after the rewind: the failed checkpoint's batch was not skipped.
    expect((await listKeys(bucket, 'manifests/')).length).toBeGreaterThanOrEqual(2);
  });
});
