import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionKeyOf } from '../../contracts/change-event.js';
import { ManifestWake } from '../../loader/manifest-wake.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { runProcessorStage } from '../../runtime/local-stages.js';
import { newCounters, type PipelineCounters } from '../../runtime/pipeline-counters.js';
import { CONSUMERS } from '../../runtime/pipeline-status.js';
import { runProcessorStageOnThread } from '../../runtime/processor-thread.js';
import { createChangeStreamWriter } from '../../stream/create-change-stream.js';
import { generateWorkload } from '../support/archive-workload.js';
import { lagOf } from '../support/consumer-lag.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `up`'s and `sync`'s processor on a worker thread (runtime/processor-thread.ts) against the same
 * stage in process, on the same local log: the same events processed and quarantined, counters
 * reported to the parent, every manifest announced on the wake, a clean stop that leaves the
 * consumer checkpointed at the end, and a worker that dies is started again from its checkpoint.
 */
const EVENTS = 300;
const encoder = new TextEncoder();

async function seededStateDir(): Promise<{ dir: string; config: Readonly<Config> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-processor-thread-'));
  const config = loadConfig({ stateDir: dir, streamShards: 2, logLevel: 'silent' }, {});
  const writer = await createChangeStreamWriter(config, silentLogger);
  const events = generateWorkload(EVENTS, { seed: 15 });
  await writer.put(events.map((e) => ({ partitionKey: partitionKeyOf(e.event), data: encoder.encode(e.text) })));
  // Not a change event: quarantined (undecodable), never a crash loop.
  await writer.put([{ partitionKey: 'sales_order:1', data: encoder.encode('{"not":"an event"}') }]);
  await writer.close();
  return { dir, config };
}

async function manifestEvents(config: Readonly<Config>): Promise<number> {
  const dir = path.join(config.paths.processedDir, 'manifests');
  let events = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.json')) events += JSON.parse(await fs.readFile(path.join(entry.parentPath, entry.name), 'utf8')).eventCount as number;
  }
  return events;
}

describe('processor stage on a worker thread', () => {
  const dirs: string[] = [];
  let seeded: { dir: string; config: Readonly<Config> };
  beforeEach(async () => {
    seeded = await seededStateDir();
    dirs.push(seeded.dir);
  });
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  /** Runs the stage until the log is processed (`done` says when), then stops it. */
  async function runUntil(run: (signal: AbortSignal, counters: PipelineCounters) => Promise<void>, done: (counters: PipelineCounters) => boolean): Promise<PipelineCounters> {
    const counters = newCounters();
    const stop = new AbortController();
    const stage = run(stop.signal, counters);
    let failed: unknown;
    stage.catch((error) => (failed = error));
    await waitFor(() => failed !== undefined || done(counters), { timeoutMs: 60_000 });
    stop.abort();
    await stage;
    return counters;
  }

  it('processes and quarantines what the in-process stage does, reports its counters, wakes the loader, stops checkpointed', async () => {
    const inProcess = await seededStateDir();
    dirs.push(inProcess.dir);
    const expected = await runUntil((signal, counters) => runProcessorStage(inProcess.config, silentLogger, signal, counters), (c) => c.processor.events + c.processor.quarantined >= EVENTS + 1);

    const wake = new ManifestWake();
    const counters = await runUntil((signal, c) => runProcessorStageOnThread(seeded.config, silentLogger, signal, c, wake), (c) => c.processor.events + c.processor.quarantined >= EVENTS + 1);
    expect(counters.processor.events).toBe(expected.processor.events);
    expect(counters.processor.quarantined).toBe(expected.processor.quarantined);
    expect(counters.processor.quarantined).toBe(1);
    expect(counters.processor.batches).toBeGreaterThan(0);
    expect(counters.processor.lastBatchMs).not.toBeNull();
    expect(wake.generation).toBe(counters.processor.batches); // one notice per manifest
    expect(await manifestEvents(seeded.config)).toBe(await manifestEvents(inProcess.config));
    expect(await lagOf(seeded.config, CONSUMERS.processor)).toBe(0);

    // Started again: everything was checkpointed, nothing is processed twice.
    const again = newCounters();
    const stop = new AbortController();
    const rerun = runProcessorStageOnThread(seeded.config, silentLogger, stop.signal, again);
    await new Promise((r) => setTimeout(r, 1_500));
    stop.abort();
    await rerun;
    expect(again.processor.events).toBe(0);
  }, 120_000);

  it('a worker that dies is started again and resumes from its checkpoint: every event ends up in a manifest', async () => {
    let killed = false;
    const counters = await runUntil(
      (signal, c) =>
        runProcessorStageOnThread(seeded.config, silentLogger, signal, c, undefined, {
          restartDelayMs: 50,
          onWorker: (worker: Worker) => {
            // The first worker is terminated as soon as it has booted: the second one does the work.
            if (!killed) {
              killed = true;
              worker.once('online', () => void worker.terminate());
            }
          },
        }),
      (c) => c.processor.events + c.processor.quarantined >= EVENTS + 1,
    );
    expect(killed).toBe(true);
    expect(counters.processor.quarantined).toBeGreaterThanOrEqual(1);
    expect(await manifestEvents(seeded.config)).toBeGreaterThanOrEqual(EVENTS);
    expect(await lagOf(seeded.config, CONSUMERS.processor)).toBe(0);
  }, 120_000);
});
