import v8 from 'node:v8';
import vm from 'node:vm';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { changeObjectKey, parseChangeObjectKey } from '../../archive/archive-layout.js';
import { ARCHIVE_GZIP_LEVEL, runArchiver, type ArchiveFlush } from '../../archive/local-archiver.js';
import type { ObjectStore } from '../../bucket/object-store.js';
import { partitionKeyOf } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import type { ChangeStreamConsumer, ConsumedRecord } from '../../stream/change-stream.js';
import { MemoryChangeStream } from '../support/archive-memory-stream.js';
import { generateWorkload, type ArchivedEvent } from '../support/archive-workload.js';
import { useTempObjectStore } from '../support/temp-object-store.js';

async function objects(store: ObjectStore, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const object of store.list(prefix)) out.set(object.key, gunzipSync(await store.get(object.key)));
  return out;
}

function publish(stream: MemoryChangeStream, events: readonly ArchivedEvent[], shards = 3): void {
  for (const item of events) {
    const key = partitionKeyOf(item.event);
    const shard = `shard-${[...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % shards}`;
    stream.append(shard, key, item.text, item.arrivalMs);
  }
}

/** Runs the archiver until `until()` holds (bounded), then stops it gracefully. */
async function archiveUntil(options: Omit<Parameters<typeof runArchiver>[0], 'signal' | 'logger'>, until: () => boolean | Promise<boolean>, graceful = true) {
  const controller = new AbortController();
  const running = runArchiver({ ...options, logger: silentLogger, signal: controller.signal });
  const deadline = Date.now() + 10_000;
  let failure: unknown;
  running.catch((error) => (failure = error));
  while (!(await until()) && !failure) {
    if (Date.now() > deadline) throw new Error('archiver did not reach the expected state in 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (failure) throw failure;
  if (graceful) controller.abort();
  return running;
}

describe('local archiver', () => {
  const tmp = useTempObjectStore('archiver-');

  it('writes GZIP NDJSON, one record per line, byte-identical to the stream records, partitioned by table and arrival hour', async () => {
    const events = generateWorkload(600, { secondsBetweenTransactions: 90 }); // spans several hours
    const stream = new MemoryChangeStream();
    publish(stream, events);
    const consumer = stream.consumer('archiver');
    const summary = await archiveUntil({ consumer, ingestion: tmp.store, flushIntervalMs: 60_000, maxBytes: 1 << 20 }, async () => (await consumer.lag()).every((l) => l.records === 0));
    expect(summary.records).toBe(600);

    const archived = await objects(tmp.store, 'changes/');
    const expected = new Map(events.map((e) => [e.text, e]));
    const seen = new Set<string>();
    const hours = new Set<string>();
    for (const [key, body] of archived) {
      const partition = parseChangeObjectKey(key)!;
      hours.add(`${partition.date}/${partition.hour}`);
      expect(body.at(-1)).toBe(10); // every record is followed by exactly one '\n'
      for (const line of body.toString('utf8').split('\n').slice(0, -1)) {
        const source = expected.get(line);
        expect(source, 'archived line is exactly a stream record').toBeDefined();
        expect(source!.event.table).toBe(partition.table);
        expect(Math.floor(source!.arrivalMs / 3_600_000) * 3_600_000).toBe(partition.hourStartMs);
        seen.add(line);
      }
    }
    expect(seen.size).toBe(600);
    expect(hours.size).toBeGreaterThan(2);
    // After a graceful stop everything is checkpointed: a new consumer sees nothing.
    expect((await stream.consumer('archiver').lag()).every((l) => l.records === 0)).toBe(true);
  });

  it('a body is exactly the records, in order, each followed by a newline, when records are large and cross the archiver\'s blocks', async () => {
    // Records from 1 byte of padding to 700 KB (several of the archiver's 256 KiB blocks), in one partition.
    const arrivalMs = Date.parse('2026-12-07T10:00:00Z');
    const sizes = [1, 262_100, 300, 700_000, 5, 262_144, 90_000, 1, 262_143];
    const texts = sizes.map((n, i) => JSON.stringify({ v: 1, id: `e${i}`, table: 'staff', pad: 'x'.repeat(n) }));
    const stream = new MemoryChangeStream();
    for (const text of texts) stream.append('shard-0', 'k', text, arrivalMs);
    const consumer = stream.consumer('archiver');
    await archiveUntil({ consumer, ingestion: tmp.store, flushIntervalMs: 60_000, maxBytes: 64 << 20 }, async () => (await consumer.lag()).every((l) => l.records === 0));
    const bodies = [...(await objects(tmp.store, 'changes/table=staff/'))];
    expect(bodies).toHaveLength(1);
    const [key, body] = bodies[0]!;
    const expected = Buffer.from(texts.map((t) => t + '\n').join(''));
    expect(body.equals(expected)).toBe(true);
    // Compressed in parts, yet one GZIP member with the bytes of the whole body's gzip; named by the whole body's hash.
    expect(Buffer.from(await tmp.store.get(key)).equals(gzipSync(expected, { level: ARCHIVE_GZIP_LEVEL }))).toBe(true);
    expect(key).toBe(changeObjectKey('staff', arrivalMs, expected));
  });

  it('flushes by size: no object exceeds maxBytes by more than one record', async () => {
    const events = generateWorkload(400, { secondsBetweenTransactions: 0.01 }).filter((e) => e.event.table === 'sales_order' || e.event.table === 'payment');
    const stream = new MemoryChangeStream();
    publish(stream, events);
    const consumer = stream.consumer('archiver');
    const flushes: ArchiveFlush[] = [];
    const maxBytes = 4096;
    await archiveUntil({ consumer, ingestion: tmp.store, flushIntervalMs: 60_000, maxBytes, onFlush: (f) => flushes.push(f) }, async () => (await consumer.lag()).every((l) => l.records === 0));
    const bySize = flushes.filter((f) => f.reason === 'size');
    expect(bySize.length).toBeGreaterThan(5);
    const longest = Math.max(...events.map((e) => Buffer.byteLength(e.text) + 1));
    for (const flush of flushes) expect(flush.bytes).toBeLessThan(maxBytes + longest);
    expect(flushes.reduce((n, f) => n + f.records, 0)).toBe(events.length);
  });

  it('flushes by time and checkpoints only after the object is durable', async () => {
    const [first, second] = generateWorkload(2);
    const stream = new MemoryChangeStream();
    stream.append('shard-0', 'k', first!.text, first!.arrivalMs);
    const consumer = stream.consumer('archiver');
    const flushes: ArchiveFlush[] = [];
    const controller = new AbortController();
    const running = runArchiver({ consumer, ingestion: tmp.store, flushIntervalMs: 150, maxBytes: 1 << 20, logger: silentLogger, signal: controller.signal, onFlush: (f) => flushes.push(f) });
    try {
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(flushes).toHaveLength(0); // buffered, not yet due
      expect(consumer.checkpoints.size).toBe(0); // nothing durable: nothing checkpointed
      const deadline = Date.now() + 5_000;
      while (flushes.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(flushes[0]).toMatchObject({ reason: 'time', records: 1 });
      expect(await tmp.store.exists(flushes[0]!.key)).toBe(true);
      expect(consumer.checkpoints.get('shard-0')).toBe(stream.shards.get('shard-0')![0]!.sequenceNumber);
      stream.append('shard-0', 'k', second!.text, second!.arrivalMs);
    } finally {
      controller.abort();
    }
    await running;
    expect(flushes.at(-1)).toMatchObject({ reason: 'shutdown', records: 1 }); // a graceful stop flushes
  });

  it('stops at once when stopped while its read waits for records (sync stops it as soon as everything is archived)', async () => {
    const [event] = generateWorkload(1);
    const stream = new MemoryChangeStream();
    stream.append('shard-0', 'k', event!.text, event!.arrivalMs);
    const consumer = stream.consumer('archiver');
    const flushes: ArchiveFlush[] = [];
    const controller = new AbortController();
    const running = runArchiver({ consumer, ingestion: tmp.store, flushIntervalMs: 20, maxBytes: 1 << 20, logger: silentLogger, signal: controller.signal, onFlush: (f) => flushes.push(f) });
    const deadline = Date.now() + 5_000;
    while (consumer.checkpoints.size === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(flushes).toHaveLength(1);
    // Nothing buffered now: the archiver's next read waits up to a second for records.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stoppedAt = performance.now();
    controller.abort();
    const summary = await running;
    expect(performance.now() - stoppedAt).toBeLessThan(300);
    expect(summary).toMatchObject({ records: 1, objects: 1 });
  });

  it('checkpoints a shard up to the last record before the first one whose object is not durable, when tables interleave', async () => {
    const workload = generateWorkload(200, { secondsBetweenTransactions: 0.01 });
    const payments = workload.filter((e) => e.event.table === 'payment').slice(0, 4);
    const orders = workload.filter((e) => e.event.table === 'sales_order').slice(0, 2);
    const [p1, p2, p3, p4] = payments;
    const [s1, s2] = orders;
    const stream = new MemoryChangeStream();
    // One shard, one arrival hour: p1 p2 p3 s1 p4 s2. The first payment object fills at p3.
    for (const item of [p1!, p2!, p3!, s1!, p4!, s2!]) stream.append('shard-0', partitionKeyOf(item.event), item.text, p1!.arrivalMs);
    const maxBytes = [p1!, p2!, p3!].reduce((n, e) => n + Buffer.byteLength(e.text) + 1, 0);
    expect(Buffer.byteLength(s1!.text) + Buffer.byteLength(s2!.text) + 2).toBeLessThan(maxBytes);
    const sequence = stream.shards.get('shard-0')!.map((r) => r.sequenceNumber);
    const consumer = stream.consumer('archiver');
    const flushes: ArchiveFlush[] = [];
    const controller = new AbortController();
    const running = runArchiver({ consumer, ingestion: tmp.store, flushIntervalMs: 60_000, maxBytes, logger: silentLogger, signal: controller.signal, onFlush: (f) => flushes.push(f) });
    try {
      const deadline = Date.now() + 5_000;
      while (!consumer.checkpoints.has('shard-0') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(flushes).toMatchObject([{ reason: 'size', records: 3 }]);
      // s1's object is still buffered: p4, durable or not, cannot be checkpointed past it.
      expect(consumer.checkpoints.get('shard-0')).toBe(sequence[2]);
    } finally {
      controller.abort();
    }
    await running;
    expect(flushes.map((f) => f.reason)).toEqual(['size', 'shutdown', 'shutdown']);
    expect(consumer.checkpoints.get('shard-0')).toBe(sequence[5]);
  });

  it('a crash (writes failing, no checkpoint, rewind) may duplicate records across files but never loses one', async () => {
    const events = generateWorkload(1500, { secondsBetweenTransactions: 1 });
    const stream = new MemoryChangeStream();
    publish(stream, events, 4);
    // The first run's store fails every write after the 4th: a crash mid-way.
    let puts = 0;
    const failing: ObjectStore = {
      location: tmp.store.location,
      put: async (key, body) => {
        if (++puts > 4) throw new Error('disk on fire');
        await tmp.store.put(key, body);
      },
      get: (key) => tmp.store.get(key),
      exists: (key) => tmp.store.exists(key),
      list: (prefix, options) => tmp.store.list(prefix, options),
      delete: (key) => tmp.store.delete(key),
    };
    const crashed = stream.consumer('archiver');
    await expect(runArchiver({ consumer: crashed, ingestion: failing, flushIntervalMs: 60_000, maxBytes: 8192, logger: silentLogger, signal: new AbortController().signal, writeAttempts: 1 })).rejects.toThrow(/disk on fire/);
    // Invariant: every checkpointed record is in a durable object.
    const afterCrash = new Set<string>();
    for (const body of (await objects(tmp.store, 'changes/')).values()) for (const line of body.toString('utf8').split('\n').slice(0, -1)) afterCrash.add(line);
    for (const [shardId, sequenceNumber] of crashed.checkpoints) {
      for (const record of stream.shards.get(shardId)!) {
        if (BigInt(record.sequenceNumber) <= BigInt(sequenceNumber)) expect(afterCrash.has(Buffer.from(record.data).toString())).toBe(true);
      }
    }
    expect(afterCrash.size).toBeGreaterThan(0);
    expect(afterCrash.size).toBeLessThan(1500);

    // Restart: a new consumer (same durable checkpoints) re-reads from the checkpoint. Same
    // grouping would rewrite identical objects under identical names; a different buffer size
    // groups differently, so re-archived records land in new objects: duplicates.
    const restarted = stream.consumer('archiver');
    await archiveUntil({ consumer: restarted, ingestion: tmp.store, flushIntervalMs: 20, maxBytes: 5000 }, async () => (await restarted.lag()).every((l) => l.records === 0));
    const lines: string[] = [];
    for (const body of (await objects(tmp.store, 'changes/')).values()) lines.push(...body.toString('utf8').split('\n').slice(0, -1));
    const unique = new Set(lines);
    for (const item of events) expect(unique.has(item.text)).toBe(true);
    expect(unique.size).toBe(1500);
    expect(lines.length).toBeGreaterThan(1500); // duplicates across files are expected, losses are not
  });

  it('archives records that are not routable change events under errors/ with their raw bytes', async () => {
    const [good] = generateWorkload(1);
    const stream = new MemoryChangeStream();
    stream.append('shard-0', 'a', good!.text, good!.arrivalMs);
    stream.append('shard-0', 'b', 'this is not json', good!.arrivalMs);
    stream.append('shard-0', 'c', '{"v":1,"table":"no_such_table"}', good!.arrivalMs);
    const consumer = stream.consumer('archiver');
    const summary = await archiveUntil({ consumer, ingestion: tmp.store, flushIntervalMs: 60_000, maxBytes: 1 << 20 }, async () => (await consumer.lag()).every((l) => l.records === 0));
    expect(summary).toMatchObject({ records: 1, errorRecords: 2 });
    const errors = [...(await objects(tmp.store, 'errors/processing-failed/')).values()];
    expect(errors).toHaveLength(1);
    const docs = errors[0]!.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(docs.map((d) => Buffer.from(d.rawData, 'base64').toString())).toEqual(['this is not json', '{"v":1,"table":"no_such_table"}']);
    expect(docs[0]).toMatchObject({ errorCode: expect.any(String), shardId: 'shard-0', sequenceNumber: expect.any(String), arrivalTimestamp: good!.arrivalMs });
    expect((await objects(tmp.store, 'changes/')).size).toBe(1);
  });

  it('keeps copies of the records it buffers, not the read chunks they are views of (no chunk stays reachable)', async () => {
    // The local log hands out records as views of 256 KB read chunks (segment-reader.ts); at the
    // tail a poll finds a few records per chunk. Buffering the views would hold every chunk until
    // the flush: here 200 records of 300 bytes, each the only record of its own 1 MiB chunk.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const line = Buffer.from(JSON.stringify({ v: 1, id: 'x', table: 'staff', pad: 'p'.repeat(240) }));
    let handedOut = 0;
    let emptyReads = 0;
    // Reachability, not process.memoryUsage(): a collected chunk's memory is released by a background
    // task, so an arrayBuffers figure read right after gc() still counted freed chunks on a busy machine.
    const chunks: WeakRef<ArrayBufferLike>[] = [];
    const consumer: ChangeStreamConsumer = {
      consumerName: 'archiver',
      async read() {
        if (handedOut >= 200) {
          emptyReads++;
          await new Promise((resolve) => setTimeout(resolve, 5));
          return [];
        }
        const records: ConsumedRecord[] = [];
        for (let i = 0; i < 20; i++, handedOut++) {
          const chunk = new Uint8Array(1 << 20);
          chunk.set(line, 0);
          chunks.push(new WeakRef(chunk.buffer)); // the memory a view keeps alive (the Uint8Array object itself may go)
          records.push({ shardId: 'shard-0', sequenceNumber: String(handedOut + 1).padStart(20, '0'), partitionKey: 'k', data: chunk.subarray(0, line.length), arrivalMs: Date.parse('2026-12-07T10:00:00Z') });
        }
        return [records];
      },
      async checkpoint() {},
      rewind() {},
      async lag() {
        return [];
      },
      async close() {},
    } as unknown as ChangeStreamConsumer;
    const controller = new AbortController();
    const running = runArchiver({ consumer, ingestion: tmp.store, flushIntervalMs: 60_000, maxBytes: 64 << 20, logger: silentLogger, signal: controller.signal });
    try {
      // The archiver reads again only once it has buffered the read before: at the second empty read
      // every record read has been buffered, whatever the machine's speed (a fixed wait was not enough under load).
      while (emptyReads < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      gc();
      expect(chunks).toHaveLength(200);
      // At most the last read's 20 (its records may linger in the archiver's suspended frame); buffering the views keeps all 200 (200 MiB).
      expect(chunks.filter((chunk) => chunk.deref() !== undefined).length).toBeLessThanOrEqual(20);
    } finally {
      controller.abort();
      await running;
    }
  });
});
