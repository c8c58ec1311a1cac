import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeStreamConsumer, ChangeStreamWriter, ConsumedRecord, StreamRecord } from '../../stream/change-stream.js';
import { encodeFrame } from '../../stream/local-log/frame-codec.js';
import { openLocalLog, type LocalLogChangeStream } from '../../stream/local-log/local-log.js';
import { shardIndexOfKey } from '../../stream/local-log/shard-of-key.js';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { FileCheckpointStore } from '../../stream/kinesis/checkpoint-store.js';
import { createKinesisClient, type KinesisSender } from '../../stream/kinesis/create-kinesis-client.js';
import { KinesisChangeStreamConsumer } from '../../stream/kinesis/kinesis-change-stream-consumer.js';
import { KinesisChangeStreamWriter, type KinesisWriterOptions } from '../../stream/kinesis/kinesis-change-stream-writer.js';
import { RecordRejectedError, StreamLockedError, StreamWriteError } from '../../stream/stream-errors.js';
import { silentLogger } from '../../platform/logger.js';
import { loadConfig } from '../../platform/config.js';
import { createChangeStreamConsumer, createChangeStreamWriter } from '../../stream/create-change-stream.js';
import { faultyKinesis } from '../support/faulty-kinesis.js';

const supportDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support');

/** One fresh, empty stream per test; `writer`/`consumer` may be called repeatedly (reopen). */
interface StreamFixture {
  writer(): Promise<ChangeStreamWriter>;
  consumer(name: string): Promise<ChangeStreamConsumer>;
  cleanup(): Promise<void>;
}

interface AdapterHarness {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  fresh(label: string): Promise<StreamFixture>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function record(key: string, n: number, extra = ''): StreamRecord {
  return { partitionKey: key, data: encoder.encode(JSON.stringify({ key, n, extra })) };
}

/** `count` records over `keys` keys (k0, k1, …), each key's n counting up from 0 in put order. */
function keyedRecords(count: number, keys: number): StreamRecord[] {
  return Array.from({ length: count }, (_, i) => record(`k${i % keys}`, Math.floor(i / keys)));
}

/** Puts `records` through a writer of its own, closed afterwards (everything flushed). */
async function writeAll(fixture: StreamFixture, records: StreamRecord[]): Promise<void> {
  const writer = await fixture.writer();
  await writer.put(records);
  await writer.close();
}

function parse(r: ConsumedRecord): { key: string; n: number } {
  return JSON.parse(decoder.decode(r.data));
}

/** Reads until `expected` records arrived (or the deadline), without checkpointing. */
async function readAtLeast(consumer: ChangeStreamConsumer, expected: number, timeoutMs = 10_000): Promise<ConsumedRecord[][]> {
  const groups: ConsumedRecord[][] = [];
  let count = 0;
  const deadline = Date.now() + timeoutMs;
  while (count < expected && Date.now() < deadline) {
    const batch = await consumer.read({ maxRecords: 500, waitMs: 200 });
    for (const group of batch) {
      groups.push(group);
      count += group.length;
    }
  }
  return groups;
}

/** Everything the consumer has left to read (nothing is being appended any more). */
async function readToEnd(consumer: ChangeStreamConsumer): Promise<ConsumedRecord[][]> {
  const groups: ConsumedRecord[][] = [];
  for (;;) {
    const batch = await consumer.read({ maxRecords: 500, waitMs: 50 });
    if (batch.length === 0) return groups;
    groups.push(...batch);
  }
}

/** Per key, the `n` values in delivery order (records of one key are on one shard). */
function perKey(groups: ConsumedRecord[][]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const group of groups) {
    for (const r of group) {
      const { key, n } = parse(r);
      expect(r.partitionKey).toBe(key);
      out.set(key, [...(out.get(key) ?? []), n]);
    }
  }
  return out;
}

function expectSequenceNumbersIncrease(groups: ConsumedRecord[][]): void {
  const last = new Map<string, bigint>();
  for (const group of groups) {
    for (const r of group) {
      const seq = BigInt(r.sequenceNumber);
      const previous = last.get(r.shardId);
      if (previous !== undefined) expect(seq > previous).toBe(true);
      last.set(r.shardId, seq);
    }
  }
}

export function changeStreamContract(harness: AdapterHarness): void {
  describe(`change stream contract: ${harness.name}`, () => {
    let fixture: StreamFixture | undefined;
    beforeAll(() => harness.start());
    afterAll(() => harness.stop());
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('delivers every record, in order per key, across many puts', async () => {
      fixture = await harness.fresh('order');
      const writer = await fixture.writer();
      const counters = new Map<string, number>();
      let total = 0;
      for (let put = 0; put < 12; put++) {
        const batch: StreamRecord[] = [];
        for (let i = 0; i < 40; i++) {
          const key = `sales_order:${(put * 7 + i * 13) % 25}`;
          const n = counters.get(key) ?? 0;
          counters.set(key, n + 1);
          batch.push(record(key, n));
        }
        await writer.put(batch);
        total += batch.length;
      }
      await writer.close();
      const consumer = await fixture.consumer('processor');
      const groups = await readAtLeast(consumer, total);
      const keys = perKey(groups);
      expect([...keys.values()].reduce((n, list) => n + list.length, 0)).toBe(total);
      for (const [key, count] of counters) expect(keys.get(key)).toEqual([...Array(count).keys()]);
      expectSequenceNumbersIncrease(groups);
      for (const group of groups) for (const r of group) expect(r.arrivalMs).toBeGreaterThan(Date.now() - 60_000);
      expect(await consumer.read({ maxRecords: 10, waitMs: 50 })).toEqual([]);
      await consumer.close();
    });

    it('resumes after the checkpoint when reopened, and keeps moving forward between reads', async () => {
      fixture = await harness.fresh('resume');
      const writer = await fixture.writer();
      await writer.put(keyedRecords(60, 6));
      const first = await fixture.consumer('archiver');
      const seen = await readAtLeast(first, 60);
      const checkpointed = new Map<string, ConsumedRecord>();
      // Checkpoint the middle record of each shard's records.
      const byShard = new Map<string, ConsumedRecord[]>();
      for (const group of seen) for (const r of group) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
      for (const [shardId, list] of byShard) {
        const middle = list[Math.floor(list.length / 2)];
        await first.checkpoint(shardId, middle.sequenceNumber);
        checkpointed.set(shardId, middle);
      }
      await first.close();

      const second = await fixture.consumer('archiver');
      const again = await readAtLeast(second, [...byShard].reduce((n, [shardId, list]) => n + list.length - list.indexOf(checkpointed.get(shardId)!) - 1, 0));
      const againByShard = new Map<string, string[]>();
      for (const group of again) for (const r of group) againByShard.set(r.shardId, [...(againByShard.get(r.shardId) ?? []), r.sequenceNumber]);
      for (const [shardId, list] of byShard) {
        const after = list.slice(list.indexOf(checkpointed.get(shardId)!) + 1).map((r) => r.sequenceNumber);
        expect(againByShard.get(shardId) ?? []).toEqual(after);
      }
      // New records arrive after the ones already read (no checkpoint in between).
      await writer.put([record('k0', 100)]);
      const more = await readAtLeast(second, 1);
      expect(more.flat().map((r) => parse(r).n)).toEqual([100]);
      await writer.close();
      await second.close();
    });

    it('rewind re-delivers what was read but not checkpointed', async () => {
      fixture = await harness.fresh('rewind');
      await writeAll(fixture, keyedRecords(20, 4));
      const consumer = await fixture.consumer('processor');
      const read = await readAtLeast(consumer, 20);
      const firstShard = read[0];
      await consumer.checkpoint(firstShard[0].shardId, firstShard[0].sequenceNumber);
      consumer.rewind();
      const reread = await readAtLeast(consumer, 19);
      const ids = (groups: ConsumedRecord[][]) => groups.flat().map((r) => `${r.shardId}/${r.sequenceNumber}`).sort();
      expect(ids(reread)).toEqual(ids(read).filter((id) => id !== `${firstShard[0].shardId}/${firstShard[0].sequenceNumber}`));
      await consumer.close();
    });

    it('keeps consumers independent and reports lag', async () => {
      fixture = await harness.fresh('lag');
      await writeAll(fixture, keyedRecords(30, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const a = await fixture.consumer('a');
      const b = await fixture.consumer('b');
      const lagBefore = await a.lag();
      expect(lagBefore.reduce((n, l) => n + l.records, 0)).toBe(30);
      expect(Math.max(...lagBefore.map((l) => l.ageMs))).toBeGreaterThan(0);

      const readA = await readAtLeast(a, 30);
      for (const group of readA) await a.checkpoint(group[0].shardId, group.at(-1)!.sequenceNumber);
      const lagAfter = await a.lag();
      expect(lagAfter.every((l) => l.records === 0 && l.ageMs === 0)).toBe(true);
      // b has seen nothing and still gets everything.
      expect((await b.lag()).reduce((n, l) => n + l.records, 0)).toBe(30);
      expect((await readAtLeast(b, 30)).flat()).toHaveLength(30);
      await a.close();
      await b.close();
    });

    it('a waiting read returns a record put while it waits, and [] on timeout', async () => {
      fixture = await harness.fresh('wait');
      const writer = await fixture.writer();
      const consumer = await fixture.consumer('processor');
      const started = Date.now();
      expect(await consumer.read({ maxRecords: 10, waitMs: 150 })).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      const pending = consumer.read({ maxRecords: 10, waitMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await writer.put([record('late', 1)]);
      const got = (await pending).flat();
      expect(got.map((r) => parse(r))).toMatchObject([{ key: 'late', n: 1 }]);
      await writer.close();
      await consumer.close();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Local log adapter

function localHarness(): AdapterHarness & { root: () => string } {
  let root = '';
  return {
    name: 'local log',
    root: () => root,
    async start() {
      root = await fs.mkdtemp(path.join(os.tmpdir(), 'stream-contract-'));
    },
    async stop() {
      await fs.rm(root, { recursive: true, force: true });
    },
    async fresh(label) {
      const dir = await fs.mkdtemp(path.join(root, `${label}-`));
      const log = openLocalLog(dir, { shards: 3, pollIntervalMs: 10 });
      return {
        writer: () => log.writer(),
        consumer: (name) => log.consumer(name),
        cleanup: () => fs.rm(dir, { recursive: true, force: true }),
      };
    },
  };
}

changeStreamContract(localHarness());

describe('local log specifics', () => {
  let root: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'local-log-'));
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await fs.rm(root, { recursive: true, force: true });
  });
  const freshDir = (label: string) => fs.mkdtemp(path.join(root, `${label}-`));

  function spawnSupport(script: string, args: string[]): { child: ChildProcess; lines: string[]; waitFor: (predicate: (lines: string[]) => boolean, timeoutMs?: number) => Promise<void>; exited: Promise<void> } {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(supportDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const lines: string[] = [];
    let stderr = '';
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const waitFor = async (predicate: (lines: string[]) => boolean, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(lines)) {
        if (Date.now() > deadline) throw new Error(`${script} did not produce the expected output; stdout: ${lines.slice(-5).join(' | ')}; stderr: ${stderr}`);
        if (child.exitCode !== null && !predicate(lines)) throw new Error(`${script} exited with ${child.exitCode}; stderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    return { child, lines, waitFor, exited };
  }

  async function segmentsOf(dir: string, shard: number): Promise<string[]> {
    const shardDir = path.join(dir, 'shards', `shardId-${String(shard).padStart(12, '0')}`);
    return (await fs.readdir(shardDir)).filter((n) => n.endsWith('.seg')).sort().map((n) => path.join(shardDir, n));
  }

  it('refuses a second writer while the first is open', async () => {
    const log = openLocalLog(await freshDir('lock'), { shards: 2 });
    const writer = await log.writer();
    await expect(log.writer()).rejects.toBeInstanceOf(StreamLockedError);
    await expect(log.writer()).rejects.toThrow(new RegExp(`process ${process.pid}`));
    await writer.close();
    const again = await log.writer();
    await again.close();
  });

  it('refuses to reopen with another shard count', async () => {
    const dir = await freshDir('shards');
    const writer = await openLocalLog(dir, { shards: 2 }).writer();
    await writer.close();
    await expect(openLocalLog(dir, { shards: 4 }).writer()).rejects.toThrow(/has 2 shards but 4 were configured/);
  });

  it('truncates a torn tail on reopen; readers never return the garbage', async () => {
    const dir = await freshDir('torn');
    const log = openLocalLog(dir, { shards: 1, pollIntervalMs: 10 });
    const writer = await log.writer();
    await writer.put(Array.from({ length: 10 }, (_, i) => record('k', i)));
    await writer.close();
    const [segment] = await segmentsOf(dir, 0);
    const validSize = (await fs.stat(segment)).size;
    // A torn append: the first half of a real frame, then garbage.
    const frame = encodeFrame({ offset: 10, arrivalMs: Date.now(), partitionKey: 'k', data: encoder.encode('{"key":"k","n":10}') });
    await fs.appendFile(segment, Buffer.concat([frame.subarray(0, 20), Buffer.from('garbage!')]));

    const reader = await log.consumer('reader');
    expect((await readAtLeast(reader, 11, 300)).flat().map((r) => parse(r).n)).toEqual([...Array(10).keys()]);

    const reopened = await log.writer();
    expect((await fs.stat(segment)).size).toBe(validSize);
    await reopened.put([record('k', 10), record('k', 11)]);
    await reopened.close();
    const after = (await readAtLeast(reader, 2)).flat();
    expect(after.map((r) => parse(r).n)).toEqual([10, 11]);
    expect(after.map((r) => Number(r.sequenceNumber))).toEqual([10, 11]);
    await reader.close();
  });

  it('after kill -9 during appends, every acknowledged record is present in per-key order', async () => {
    const dir = await freshDir('kill');
    const appender = spawnSupport('local-log-appender.ts', [dir, '2', '2000']);
    await appender.waitFor((lines) => lines.filter((l) => l.startsWith('ack ')).length >= 40);
    appender.child.kill('SIGKILL');
    await appender.exited;
    const acked = Math.max(...appender.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4))));

    // The dead child's lock is stale: a new writer takes it over and repairs any torn tail.
    const log = openLocalLog(dir, { shards: 2, pollIntervalMs: 10 });
    const writer = await log.writer();
    await writer.close();
    const consumer = await log.consumer('check');
    // Read to the end, not just (acked + 1) * 20 records: unacknowledged batches may be stored too,
    // and the shards are read in turns, so a count says nothing about a given key.
    const keys = perKey(await readToEnd(consumer));
    expect(keys.size).toBe(10);
    for (const [, ns] of keys) {
      expect(ns).toEqual([...Array(ns.length).keys()]);
      expect(ns.length).toBeGreaterThanOrEqual((acked + 1) * 2);
    }
    await consumer.close();
  });

  it('a reader in another process only sees complete frames', async () => {
    const dir = await freshDir('cross');
    const log = openLocalLog(dir, { shards: 1 });
    const writer = await log.writer();
    await writer.put(Array.from({ length: 10 }, (_, i) => record('k', i)));
    await writer.close();
    const [segment] = await segmentsOf(dir, 0);
    const frame = encodeFrame({ offset: 10, arrivalMs: Date.now(), partitionKey: 'k', data: record('k', 10).data });
    await fs.appendFile(segment, frame.subarray(0, frame.length - 5));

    const reader = spawnSupport('local-log-reader.ts', [dir, '1', '11', '15000']);
    await reader.waitFor((lines) => lines.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reader.lines.map((l) => JSON.parse(l).total)).toEqual([10]);
    await fs.appendFile(segment, frame.subarray(frame.length - 5));
    await reader.waitFor((lines) => lines.length >= 2);
    await reader.exited;
    expect(reader.lines.map((l) => JSON.parse(l))).toEqual([
      { total: 10, last: decoder.decode(record('k', 9).data) },
      { total: 11, last: decoder.decode(record('k', 10).data) },
    ]);
  });

  it('retention deletes old fully consumed segments, keeps unconsumed ones, and enforces max retention', async () => {
    const dir = await freshDir('retention');
    const log: LocalLogChangeStream = openLocalLog(dir, { shards: 1, segmentBytes: 1024, pollIntervalMs: 10 });
    const writer = await log.writer();
    // ~100-byte records, one put each: a new segment about every 10 records.
    for (let i = 0; i < 60; i++) await writer.put([record('k', i, 'x'.repeat(60))]);
    const segments = await segmentsOf(dir, 0);
    expect(segments.length).toBeGreaterThanOrEqual(5);
    const bases = segments.map((s) => Number(path.basename(s, '.seg')));

    const fast = await log.consumer('fast');
    const slow = await log.consumer('slow');
    const all = (await readAtLeast(fast, 60)).flat();
    await fast.checkpoint(all[0].shardId, all.at(-1)!.sequenceNumber);
    await readAtLeast(slow, 60);
    // slow has handled up to the end of the second segment only.
    await slow.checkpoint(all[0].shardId, String(bases[2] - 1));

    expect(await log.enforceRetention(Date.now())).toBe(0); // consumed but young
    expect(await log.enforceRetention(Date.now() + 25 * 3600_000)).toBe(2); // the two slow has passed
    expect((await segmentsOf(dir, 0)).map((s) => Number(path.basename(s, '.seg')))).toEqual(bases.slice(2));

    // Past max retention even unconsumed segments go (the active last segment always stays).
    expect(await log.enforceRetention(Date.now() + 8 * 24 * 3600_000)).toBe(bases.length - 3);
    expect((await segmentsOf(dir, 0)).map((s) => Number(path.basename(s, '.seg')))).toEqual([bases.at(-1)]);
    // slow resumes at the oldest retained record.
    slow.rewind();
    const resumed = (await readAtLeast(slow, 60 - bases.at(-1)!, 2_000)).flat();
    expect(Number(resumed[0].sequenceNumber)).toBe(bases.at(-1));
    expect(resumed.map((r) => parse(r).n).at(-1)).toBe(59);
    expect((await slow.lag())[0].records).toBe(60 - bases.at(-1)!);
    await writer.close();
    await fast.close();
    await slow.close();
  });

  it("recordsBehind: each named consumer's records after its checkpoint, zero exactly when its lag() says none", async () => {
    const dir = await freshDir('behind');
    const log: LocalLogChangeStream = openLocalLog(dir, { shards: 4, segmentBytes: 2048, pollIntervalMs: 10 });
    const writer = await log.writer();
    await writer.put(Array.from({ length: 40 }, (_, i) => record(`k${i % 9}`, i, 'x'.repeat(40))));
    const all = await log.consumer('all');
    const part = await log.consumer('part');
    for (const group of await readAtLeast(all, 40)) await all.checkpoint(group[0].shardId, group.at(-1)!.sequenceNumber);
    // `part` has handled the first two records of each shard it read.
    for (const group of await readAtLeast(part, 40)) await part.checkpoint(group[0].shardId, group[Math.min(1, group.length - 1)].sequenceNumber);
    const lagRecords = async (name: string) => {
      const consumer = await log.consumer(name);
      return (await consumer.lag().finally(() => consumer.close())).reduce((n, shard) => n + shard.records, 0);
    };
    // One probe, any name of its own; `never` has no checkpoint (not even registered).
    const probe = await log.consumer('probe');
    const names = ['all', 'part', 'never'];
    const expected = async () => new Map(await Promise.all(names.map(async (name) => [name, await lagRecords(name)] as const)));
    expect(await probe.recordsBehind(names)).toEqual(await expected());
    expect((await probe.recordsBehind(names)).get('never')).toBe(40);
    expect((await probe.recordsBehind(names)).get('all')).toBe(0);
    // Its cursors only move forward: appended records are counted at the next call.
    await writer.put(Array.from({ length: 25 }, (_, i) => record(`k${i % 5}`, 40 + i, 'y'.repeat(40))));
    expect(await probe.recordsBehind(names)).toEqual(await expected());
    expect((await probe.recordsBehind(['all'])).get('all')).toBe(25);
    for (const group of await readAtLeast(all, 25)) await all.checkpoint(group[0].shardId, group.at(-1)!.sequenceNumber);
    expect((await probe.recordsBehind(['all'])).get('all')).toBe(0);
    await expect(probe.recordsBehind(['../escape'])).rejects.toThrow();
    await writer.close();
    await Promise.all([all.close(), part.close(), probe.close()]);
  });

  it('recordsBehind also counts records retention deleted before the consumer read them (lag() does not): zero at the same moment', async () => {
    const dir = await freshDir('behind-expired');
    const log: LocalLogChangeStream = openLocalLog(dir, { shards: 1, segmentBytes: 1024, pollIntervalMs: 10 });
    const writer = await log.writer();
    for (let i = 0; i < 40; i++) await writer.put([record('k', i, 'x'.repeat(60))]);
    const bases = (await segmentsOf(dir, 0)).map((s) => Number(path.basename(s, '.seg')));
    const slow = await log.consumer('slow');
    await readAtLeast(slow, 5);
    await slow.checkpoint('shardId-000000000000', '4');
    expect(await log.enforceRetention(Date.now() + 8 * 24 * 3600_000)).toBe(bases.length - 1);
    const probe = await log.consumer('probe');
    expect((await probe.recordsBehind(['slow'])).get('slow')).toBe(40 - 5);
    expect((await slow.lag())[0].records).toBe(40 - bases.at(-1)!);
    slow.rewind();
    const rest = (await readAtLeast(slow, 40 - bases.at(-1)!, 2_000)).flat();
    await slow.checkpoint(rest[0].shardId, rest.at(-1)!.sequenceNumber);
    expect((await probe.recordsBehind(['slow'])).get('slow')).toBe(0);
    expect((await slow.lag())[0].records).toBe(0);
    await writer.close();
    await Promise.all([slow.close(), probe.close()]);
  });

  it('routes keys with the Kinesis hash mapping', () => {
    // md5("") = d41d8cd9… → 0xd4… / 2^128 ≈ 0.83 → shard 3 of 4.
    expect(shardIndexOfKey('', 4)).toBe(3);
    expect(shardIndexOfKey('sales_order:1', 1)).toBe(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardIndexOfKey(`sales_order:${i}`, 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });
});

// ---------------------------------------------------------------------------------------------
// Kinesis adapter on kinesalite (in-process, loopback, free port)

interface KinesisTestEnv {
  client: KinesisClient;
  root: string;
  createStream(label: string, shards?: number): Promise<string>;
  writer(streamName: string, sender?: KinesisSender, options?: Partial<KinesisWriterOptions>): KinesisChangeStreamWriter;
  consumer(streamName: string, name: string, checkpointDir: string): KinesisChangeStreamConsumer;
}

function kinesisEnvironment(): { start(): Promise<void>; stop(): Promise<void>; env: () => KinesisTestEnv } {
  let server: Server | undefined;
  let env: KinesisTestEnv | undefined;
  let streams = 0;
  return {
    async start() {
      const kinesalite = createRequire(import.meta.url)('kinesalite') as (options: object) => Server;
      server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
      // Port 0: the kernel picks it as kinesalite listens (no window for another process to take it).
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(0, '127.0.0.1', () => resolve());
      });
      const port = (server.address() as { port: number }).port;
      const client = createKinesisClient({ region: 'eu-west-2', endpoint: `http://127.0.0.1:${port}` });
      const root = await fs.mkdtemp(path.join(os.tmpdir(), 'kinesis-contract-'));
      env = {
        client,
        root,
        async createStream(label, shards = 2) {
          const name = `${label}-${++streams}`;
          await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
          for (let i = 0; i < 200; i++) {
            const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
            if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return name;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          throw new Error(`stream ${name} did not become ACTIVE`);
        },
        writer: (streamName, sender = client, options = {}) =>
          new KinesisChangeStreamWriter(sender, { streamName, logger: silentLogger, baseDelayMs: 1, maxDelayMs: 10, ...options }),
        consumer: (streamName, name, checkpointDir) =>
          new KinesisChangeStreamConsumer(client, { streamName, consumerName: name, checkpointStore: new FileCheckpointStore(checkpointDir), logger: silentLogger, pollIntervalMs: 20 }),
      };
    },
    async stop() {
      env?.client.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      if (env) await fs.rm(env.root, { recursive: true, force: true });
    },
    env: () => env!,
  };
}

const kinesis = kinesisEnvironment();

changeStreamContract({
  name: 'kinesis (kinesalite)',
  start: () => kinesis.start(),
  stop: () => kinesis.stop(),
  async fresh(label) {
    const env = kinesis.env();
    const streamName = await env.createStream(label);
    const checkpointDir = await fs.mkdtemp(path.join(env.root, `${label}-`));
    return {
      writer: async () => env.writer(streamName),
      consumer: async (name) => env.consumer(streamName, name, checkpointDir),
      cleanup: () => fs.rm(checkpointDir, { recursive: true, force: true }),
    };
  },
});

describe('kinesis specifics', () => {
  const local = kinesisEnvironment();
  beforeAll(() => local.start());
  afterAll(() => local.stop());

  async function readBack(streamName: string, expected: number): Promise<ConsumedRecord[][]> {
    const env = local.env();
    const consumer = env.consumer(streamName, 'verify', await fs.mkdtemp(path.join(env.root, 'verify-')));
    const groups = await readAtLeast(consumer, expected);
    expect(await consumer.read({ maxRecords: 10, waitMs: 0 })).toEqual([]);
    await consumer.close();
    return groups;
  }

  it('retries partial failures and throttling without losing or reordering a key', async () => {
    const env = local.env();
    const streamName = await env.createStream('faults');
    const faulty = faultyKinesis(env.client, { throttleCalls: 2, failRecord: (call, _entry, index) => call <= 8 && index % 3 === 1 });
    const writer = env.writer(streamName, faulty);
    const counters = new Map<string, number>();
    for (let put = 0; put < 3; put++) {
      const batch: StreamRecord[] = [];
      for (let i = 0; i < 60; i++) {
        const key = `payment:${(i * 7 + put) % 8}`;
        const n = counters.get(key) ?? 0;
        counters.set(key, n + 1);
        batch.push(record(key, n));
      }
      await writer.put(batch);
    }
    await writer.close();
    // The faults really happened: throttled calls, and failed records retried in later calls.
    expect(faulty.putRecordsCalls.length).toBeGreaterThan(2 + 180 / 8);
    for (const call of faulty.putRecordsCalls) expect(new Set(call.map((e) => e.PartitionKey)).size).toBe(call.length);
    const keys = perKey(await readBack(streamName, 180));
    for (const [key, count] of counters) expect(keys.get(key)).toEqual([...Array(count).keys()]);
  });

  it('splits a put into calls of at most 500 records and 5 MiB', async () => {
    const env = local.env();
    const streamName = await env.createStream('split');
    const faulty = faultyKinesis(env.client, {});
    const writer = env.writer(streamName, faulty);
    await writer.put(Array.from({ length: 1200 }, (_, i) => record(`k${i}`, 0)));
    expect(faulty.putRecordsCalls.map((c) => c.length)).toEqual([500, 500, 200]);
    const big = 'x'.repeat(400 * 1024);
    await writer.put(Array.from({ length: 14 }, (_, i) => record(`big${i}`, 0, big)));
    const bigCalls = faulty.putRecordsCalls.slice(3);
    expect(bigCalls.map((c) => c.length)).toEqual([12, 2]);
    for (const call of bigCalls) expect(call.reduce((n, e) => n + e.Data!.length + e.PartitionKey!.length, 0)).toBeLessThanOrEqual(5 * 1024 * 1024);
    await writer.close();
    expect((await readBack(streamName, 1214)).flat()).toHaveLength(1214);
  });

  it('rejects an oversized record naming its key, before sending anything', async () => {
    const env = local.env();
    const streamName = await env.createStream('oversized');
    const faulty = faultyKinesis(env.client, {});
    const writer = env.writer(streamName, faulty);
    const put = writer.put([record('ok', 1), { partitionKey: 'design:7', data: new Uint8Array(1024 * 1024) }]);
    await expect(put).rejects.toBeInstanceOf(RecordRejectedError);
    await expect(put).rejects.toMatchObject({ partitionKey: 'design:7', retryable: false });
    await expect(put).rejects.toThrow(/design:7/);
    expect(faulty.putRecordsCalls).toHaveLength(0);
    await writer.close();
  });

  it('gives up with a retryable error after bounded throttling, and a permanent one for a missing stream', async () => {
    const env = local.env();
    const streamName = await env.createStream('giveup');
    const throttled = env.writer(streamName, faultyKinesis(env.client, { throttleCalls: 1_000 }), { maxThrottledAttempts: 3 });
    await expect(throttled.put([record('k', 1)])).rejects.toMatchObject({ name: 'StreamWriteError', retryable: true });
    const missing = env.writer('no-such-stream');
    const error = await missing.put([record('k', 1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamWriteError);
    expect((error as StreamWriteError).retryable).toBe(false);
  });
});

describe('createChangeStream*', () => {
  it('chooses the local log from configuration (and Kinesis when asked)', async () => {
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stream-factory-'));
    try {
      const config = loadConfig({ stateDir, streamShards: 2 }, {});
      const writer = await createChangeStreamWriter(config, silentLogger);
      await writer.put([record('sales_order:1', 1)]);
      await writer.close();
      const consumer = await createChangeStreamConsumer(config, 'processor', silentLogger);
      expect((await readAtLeast(consumer, 1)).flat().map((r) => parse(r).n)).toEqual([1]);
      await consumer.close();
      expect((await fs.readdir(config.paths.streamLog)).sort()).toEqual(['consumers', 'meta.json', 'shards']);
      const kinesisConfig = loadConfig({ stateDir, stream: 'kinesis', kinesisEndpoint: 'http://127.0.0.1:9' }, {});
      expect(await createChangeStreamWriter(kinesisConfig, silentLogger)).toBeInstanceOf(KinesisChangeStreamWriter);
      expect(await createChangeStreamConsumer(kinesisConfig, 'processor', silentLogger)).toBeInstanceOf(KinesisChangeStreamConsumer);
    } finally {
      await fs.rm(stateDir, { recursive: true, force: true });
    }
  });
});
