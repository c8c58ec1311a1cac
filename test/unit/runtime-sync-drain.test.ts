import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { SYNC_DRAIN_CONSUMERS, archiverThreadNiceness, waitUntilDrained } from '../../runtime/sync-pipeline.js';
import { ARCHIVER_THREAD_NICENESS } from '../../runtime/archiver-thread.js';
import { createChangeStreamConsumer, createChangeStreamWriter } from '../../stream/create-change-stream.js';
import type { ChangeStreamConsumer } from '../../stream/change-stream.js';
import { DrainProbe } from '../../runtime/drain-probe.js';

/**
 * `sync` waits for its stages with waitUntilDrained. Regression: the lag probe used to be one
 * long-lived consumer that cached the checkpoints it read on its first poll, so when the stage had
 * not checkpointed yet at that moment, `sync` waited forever.
 */
const encoder = new TextEncoder();

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("sync: the archiver thread's priority", () => {
  it('is lowered after a snapshot (the loader ends last) and left alone in a catch-up from the WAL (the archiver ends with the processor)', () => {
    expect(ARCHIVER_THREAD_NICENESS).toBeGreaterThan(0);
    expect(archiverThreadNiceness({ snapshotRows: 476_000 })).toBe(ARCHIVER_THREAD_NICENESS);
    expect(archiverThreadNiceness({ snapshotRows: 0 })).toBe(0);
  });
});

describe('sync: waitUntilDrained', () => {
  let stateDir: string;
  let config: Readonly<Config>;
  /** The writer's end after the 20 records. */
  let end: ReadonlyMap<string, number>;

  beforeEach(async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-drain-'));
    config = loadConfig({ stateDir, streamShards: 2, logLevel: 'silent' }, {});
    const writer = await createChangeStreamWriter(config, silentLogger);
    await writer.put(Array.from({ length: 20 }, (_, i) => ({ partitionKey: `sales_order:${i}`, data: encoder.encode(`{"n":${i}}`) })));
    await writer.close();
    end = writer.end!();
  });
  afterEach(async () => {
    await fs.rm(stateDir, { recursive: true, force: true });
  });

  /** A stage that starts late, then reads and checkpoints everything with its own consumer. */
  async function lateStage(delayMs: number, name = 'stream-processor'): Promise<void> {
    await new Promise((r) => setTimeout(r, delayMs));
    const consumer = await createChangeStreamConsumer(config, name, silentLogger);
    try {
      let seen = 0;
      while (seen < 20) {
        for (const group of await consumer.read({ maxRecords: 100, waitMs: 100 })) {
          seen += group.length;
          await consumer.checkpoint(group[0].shardId, group.at(-1)!.sequenceNumber);
        }
      }
    } finally {
      await consumer.close();
    }
  }

  it('returns once a stage that checkpoints after the first poll has caught up', async () => {
    const stage = lateStage(150);
    const result = await withTimeout(waitUntilDrained(config, silentLogger, ['stream-processor'], stage, { pollIntervalMs: 20 }), 5_000);
    await stage;
    expect(result).toBeUndefined();
  });

  it('rejects with the stage error when a stage fails', async () => {
    const stage = Promise.reject(new Error('processor broke'));
    await expect(withTimeout(waitUntilDrained(config, silentLogger, ['stream-processor'], stage, { pollIntervalMs: 20 }), 5_000)).rejects.toThrow('processor broke');
  });

  it("sync's drain waits for the processor's checkpoints, not only the archiver's, even once the processor has reported an idle read", async () => {
    // sync's processor runs while capture appends: an idle read it reported may predate the log's
    // last records, so `ready` (an idle read seen after capture) cannot be the whole test.
    const stages = Promise.all([lateStage(0, 'archiver'), lateStage(600)]);
    const result = await withTimeout(waitUntilDrained(config, silentLogger, SYNC_DRAIN_CONSUMERS, stages, { pollIntervalMs: 20, ready: () => true }), 5_000);
    expect(result).toBeUndefined();
    // At the return, the processor's checkpoints already cover the whole log.
    const probe = await createChangeStreamConsumer(config, 'stream-processor', silentLogger);
    const lag = await probe.lag().finally(() => probe.close());
    expect(lag.map((shard) => shard.records)).toEqual([0, 0]);
    await stages;
  });

  describe('DrainProbe', () => {
    /** Opens probe consumers, counting them; `lagOnly` hides recordsBehind (a stream like Kinesis). */
    function opener(lagOnly: boolean) {
      const opened: string[] = [];
      const open = async (name: string): Promise<ChangeStreamConsumer> => {
        opened.push(name);
        const consumer = await createChangeStreamConsumer(config, name, silentLogger);
        if (!lagOnly) return consumer;
        return { consumerName: name, read: (o) => consumer.read(o), checkpoint: (a, b) => consumer.checkpoint(a, b), rewind: () => consumer.rewind(), lag: () => consumer.lag(), close: () => consumer.close() };
      };
      return { opened, open };
    }

    for (const lagOnly of [false, true]) {
      it(lagOnly ? 'without recordsBehind: a probe per name, each asked for its lag' : 'on the local log: one probe answers for every name', async () => {
        const { opened, open } = opener(lagOnly);
        const probe = await DrainProbe.openWith(SYNC_DRAIN_CONSUMERS, open);
        try {
          expect(opened).toEqual(lagOnly ? SYNC_DRAIN_CONSUMERS : SYNC_DRAIN_CONSUMERS.slice(0, 1));
          expect(await probe.drained()).toBe(false);
          await lateStage(0, SYNC_DRAIN_CONSUMERS[1]);
          expect(await probe.drained()).toBe(false); // the other has not read yet
          await lateStage(0, SYNC_DRAIN_CONSUMERS[0]);
          expect(await probe.drained()).toBe(true);
        } finally {
          await probe.close();
        }
      });
    }

    it("given the writer's end, it finds no end of its own and counts from the checkpoints", async () => {
      expect([...end.keys()]).toEqual(['shardId-000000000000', 'shardId-000000000001']);
      expect([...end.values()].reduce((a, b) => a + b, 0)).toBe(20); // offsets are dense: the end counts the records
      const asked: (ReadonlyMap<string, number> | undefined)[] = [];
      const probe = await DrainProbe.openWith(
        SYNC_DRAIN_CONSUMERS,
        async (name) => {
          const consumer = await createChangeStreamConsumer(config, name, silentLogger);
          const recordsBehind = consumer.recordsBehind!.bind(consumer);
          consumer.recordsBehind = (names, given) => (asked.push(given), recordsBehind(names, given));
          return consumer;
        },
        end,
      );
      try {
        await probe.warm();
        expect(asked).toEqual([]);
        expect(await probe.drained()).toBe(false);
        await lateStage(0, SYNC_DRAIN_CONSUMERS[0]);
        await lateStage(0, SYNC_DRAIN_CONSUMERS[1]);
        // Records appended after the writer's end are not waited for (sync's target was reached).
        const later = await createChangeStreamWriter(config, silentLogger);
        await later.put([{ partitionKey: 'sales_order:99', data: encoder.encode('{"n":99}') }]);
        await later.close();
        expect(await probe.drained()).toBe(true);
        expect(asked).toEqual([end, end]);
      } finally {
        await probe.close();
      }
    });

    for (const lagOnly of [false, true]) {
      it(lagOnly ? 'warm asks nothing of a stream without recordsBehind (its questions cost API calls)' : "warm finds the local log's end ahead of the questions", async () => {
        const asked: string[] = [];
        const { open } = opener(lagOnly);
        const probe = await DrainProbe.openWith(SYNC_DRAIN_CONSUMERS, async (name) => {
          const consumer = await open(name);
          const counted: ChangeStreamConsumer = {
            consumerName: name,
            read: (o) => consumer.read(o),
            checkpoint: (a, b) => consumer.checkpoint(a, b),
            rewind: () => consumer.rewind(),
            lag: () => (asked.push(`lag ${name}`), consumer.lag()),
            close: () => consumer.close(),
          };
          if (consumer.recordsBehind) counted.recordsBehind = (names) => (asked.push('recordsBehind'), consumer.recordsBehind!(names));
          return counted;
        });
        try {
          await probe.warm();
          expect(asked).toEqual(lagOnly ? [] : ['recordsBehind']);
          await lateStage(0, SYNC_DRAIN_CONSUMERS[0]);
          await lateStage(0, SYNC_DRAIN_CONSUMERS[1]);
          expect(await probe.drained()).toBe(true); // the end it found is the log's end (nothing appended since)
        } finally {
          await probe.close();
        }
      });
    }
  });
});
