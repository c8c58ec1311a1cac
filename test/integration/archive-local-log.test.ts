import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runArchiver } from '../../archive/local-archiver.js';
import { createObjectStore } from '../../bucket/create-object-store.js';
import { partitionKeyOf } from '../../contracts/change-event.js';
import { loadConfig } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { createChangeStreamConsumer, createChangeStreamWriter } from '../../stream/create-change-stream.js';
import { generateWorkload } from '../support/archive-workload.js';

describe('archiver on the real local stream log', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'archive-local-log-'));
  });
  afterEach(() => fs.rm(stateDir, { recursive: true, force: true }));

  it('archives every record of the embedded log exactly as written, and checkpoints them', async () => {
    const config = loadConfig({ stateDir, streamShards: 2 }, {});
    const events = generateWorkload(500);
    const writer = await createChangeStreamWriter(config, silentLogger);
    try {
      await writer.put(events.map((e) => ({ partitionKey: partitionKeyOf(e.event), data: Buffer.from(e.text) })));
    } finally {
      await writer.close();
    }
    const ingestion = createObjectStore(config, 'ingestion');
    const consumer = await createChangeStreamConsumer(config, 'archiver', silentLogger);
    const controller = new AbortController();
    const running = runArchiver({ consumer, ingestion, flushIntervalMs: 50, maxBytes: 64 * 1024, logger: silentLogger, signal: controller.signal });
    try {
      const deadline = Date.now() + 15_000;
      while ((await consumer.lag()).some((l) => l.records > 0)) {
        if (Date.now() > deadline) throw new Error('archiver did not catch up in 15 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      controller.abort();
      await running;
      await consumer.close();
    }
    const lines: string[] = [];
    for await (const object of ingestion.list('changes/')) lines.push(...gunzipSync(await ingestion.get(object.key)).toString().split('\n').slice(0, -1));
    expect(lines.sort()).toEqual(events.map((e) => e.text).sort());
    const again = await createChangeStreamConsumer(config, 'archiver', silentLogger);
    try {
      expect((await again.lag()).every((l) => l.records === 0)).toBe(true);
    } finally {
      await again.close();
    }
  });
});
