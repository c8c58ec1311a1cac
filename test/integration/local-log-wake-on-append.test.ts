import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openLocalLog, type LocalLogChangeStream } from '../../stream/local-log/local-log.js';
import { AppendWatch } from '../../stream/local-log/append-watch.js';

/**
 * The stream processor's reads of the embedded log wake at an append (stream/local-log/append-watch.ts),
 * not at their next poll; polling stays the fallback, so a watch that cannot be set up or misses
 * an event costs a poll interval, never a stalled read.
 */
describe('local log: a waiting read wakes on append', () => {
  let dir: string;
  let log: LocalLogChangeStream;
  const record = (n: number) => ({ partitionKey: `key-${n}`, data: Buffer.from(`{"n":${n}}`) });

  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wake-on-append-'));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  /** How long a read waiting up to 20 s takes to return a record appended 200 ms after it started. */
  async function readLatencyMs(wake: boolean): Promise<{ ms: number; records: number }> {
    const writer = await log.writer();
    const consumer = await log.consumer('stream-processor');
    try {
      if (wake) consumer.wakeOnAppend();
      expect(await consumer.read({ maxRecords: 10, waitMs: 0 })).toEqual([]); // registered, nothing yet
      const started = Date.now();
      const reading = consumer.read({ maxRecords: 10, waitMs: 20_000 });
      await new Promise((r) => setTimeout(r, 200));
      await writer.put([record(1)]);
      const groups = await reading;
      return { ms: Date.now() - started, records: groups.flat().length };
    } finally {
      await consumer.close();
      await writer.close();
    }
  }

  it('returns as soon as another writer appends, long before its next poll', async () => {
    log = openLocalLog(path.join(dir, 'stream'), { shards: 4, pollIntervalMs: 10_000 });
    const { ms, records } = await readLatencyMs(true);
    expect(records).toBe(1);
    expect(ms).toBeLessThan(2_000); // polling alone: the 10 s poll interval
  });

  it('falls back to polling when no watch can be set up: the read still returns, a poll interval later', async () => {
    vi.spyOn(fs, 'watch').mockImplementation(() => {
      throw Object.assign(new Error('inotify watch limit reached'), { code: 'ENOSPC' });
    });
    log = openLocalLog(path.join(dir, 'stream'), { shards: 4, pollIntervalMs: 300 });
    const { ms, records } = await readLatencyMs(true);
    expect(fs.watch).toHaveBeenCalled();
    expect(records).toBe(1);
    expect(ms).toBeLessThan(5_000);
  });

  it('AppendWatch: an event between "read, found nothing" and the wait ends the wait at once; a missed one costs the timeout', async () => {
    const shard = path.join(dir, 'shard');
    await fsp.mkdir(shard);
    const watch = new AppendWatch([shard]);
    try {
      await watch.wait(watch.generation, 0); // sets the watch up
      expect(watch.watching).toBe(true);
      const seen = watch.generation;
      await fsp.writeFile(path.join(shard, 'segment'), 'x');
      for (let i = 0; i < 200 && watch.generation === seen; i++) await new Promise((r) => setTimeout(r, 10));
      const started = Date.now();
      await watch.wait(seen, 10_000); // the event came before the wait began
      expect(Date.now() - started).toBeLessThan(100);
      const quiet = Date.now();
      await watch.wait(watch.generation, 150); // nothing appended: the timeout (the poll) ends it
      expect(Date.now() - quiet).toBeGreaterThanOrEqual(140);
    } finally {
      watch.close();
    }
  });
});
