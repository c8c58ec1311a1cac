import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { partitionKeyOf } from '../../contracts/change-event.js';
import { createObjectStore } from '../../bucket/create-object-store.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { createLogger, silentLogger } from '../../platform/logger.js';
import { ARCHIVER_THREAD_NICENESS, runArchiverStageOnThread } from '../../runtime/archiver-thread.js';
import { runArchiverStage } from '../../runtime/local-stages.js';
import { newCounters, type PipelineCounters } from '../../runtime/pipeline-counters.js';
import { CONSUMERS } from '../../runtime/pipeline-status.js';
import { createChangeStreamWriter } from '../../stream/create-change-stream.js';
import { generateWorkload } from '../support/archive-workload.js';
import { lagOf } from '../support/consumer-lag.js';
import { waitFor } from '../support/wait-for.js';

/**
 * sync's archiver on a worker thread (runtime/archiver-thread.ts) against the same stage in
 * process, on the same local log: the same lines under the same partitions, counters reported to
 * the parent, a clean stop that leaves the consumer checkpointed at the end, and a worker that
 * dies is started again from its checkpoint.
 */
const EVENTS = 400;
const encoder = new TextEncoder();
const dirs: string[] = [];

async function seededConfig(logLevel: Config['logLevel'] = 'silent'): Promise<Readonly<Config>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-archiver-thread-'));
  dirs.push(dir);
  const config = loadConfig({ stateDir: dir, streamShards: 2, logLevel }, {});
  const writer = await createChangeStreamWriter(config, silentLogger);
  const events = generateWorkload(EVENTS, { seed: 21 });
  await writer.put(events.map((e) => ({ partitionKey: partitionKeyOf(e.event), data: encoder.encode(e.text) })));
  // Not JSON: archived under errors/, never a crash loop.
  await writer.put([{ partitionKey: 'sales_order:1', data: encoder.encode('{"table":') }]);
  await writer.close();
  return config;
}

/** Per partition (a table's folder, errors), the archived lines, sorted; error lines without their times. */
async function archivedLines(config: Readonly<Config>): Promise<Record<string, string[]>> {
  const ingestion = createObjectStore(config, 'ingestion');
  const out: Record<string, string[]> = {};
  for await (const object of ingestion.list('')) {
    const folder = object.key.startsWith('errors') ? 'errors' : object.key.split('/').slice(0, 2).join('/');
    const lines = gunzipSync(await ingestion.get(object.key)).toString('utf8').split('\n').slice(0, -1);
    (out[folder] ??= []).push(...lines.map((line) => (folder === 'errors' ? JSON.stringify({ ...JSON.parse(line), arrivalTimestamp: 0, attemptEndingTimestamp: 0 }) : line)));
  }
  for (const lines of Object.values(out)) lines.sort();
  return out;
}

/** Runs the stage until the archiver consumer has nothing left and the counters say `records`, then stops it. */
async function runUntilArchived(config: Readonly<Config>, run: (signal: AbortSignal, counters: PipelineCounters) => Promise<void>, records: number): Promise<PipelineCounters> {
  const counters = newCounters();
  const stop = new AbortController();
  const stage = run(stop.signal, counters);
  // A stage that ends before it is stopped (failed, or gave up on a dead worker) ends the wait too.
  let ended = false;
  stage.then(() => (ended = true), () => (ended = true));
  await waitFor(async () => ended || (counters.archiver.records >= records && (await lagOf(config, CONSUMERS.archiver)) === 0), { timeoutMs: 60_000 });
  expect(ended).toBe(false);
  stop.abort();
  await stage;
  return counters;
}

describe('archiver stage on a worker thread', () => {
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('archives what the in-process stage does, reports its counters, stops checkpointed', async () => {
    const inProcess = await seededConfig();
    const expected = await runUntilArchived(inProcess, (signal, counters) => runArchiverStage(inProcess, silentLogger, signal, counters, 50), EVENTS + 1);
    const config = await seededConfig();
    const counters = await runUntilArchived(config, (signal, c) => runArchiverStageOnThread(config, silentLogger, signal, c, 50), EVENTS + 1);

    expect(counters.archiver.records).toBe(EVENTS + 1); // the error record's object counts too
    expect(counters.archiver.records).toBe(expected.archiver.records);
    expect(counters.archiver.objects).toBeGreaterThan(0);
    const archived = await archivedLines(config);
    expect(archived).toEqual(await archivedLines(inProcess));
    expect(archived.errors).toHaveLength(1);
    expect(Object.keys(archived).length).toBeGreaterThan(2);
    expect(await lagOf(config, CONSUMERS.archiver)).toBe(0);

    // Started again: everything was checkpointed, nothing is archived twice.
    const again = newCounters();
    const stop = new AbortController();
    const rerun = runArchiverStageOnThread(config, silentLogger, stop.signal, again, 50);
    await new Promise((r) => setTimeout(r, 1_500));
    stop.abort();
    await rerun;
    expect(again.archiver.records).toBe(0);
    expect(await archivedLines(config)).toEqual(archived);
  }, 120_000);

  it('a worker that dies is started again and resumes from its checkpoint: every record is archived', async () => {
    const config = await seededConfig();
    let killed = false;
    const counters = await runUntilArchived(
      config,
      (signal, c) =>
        runArchiverStageOnThread(config, silentLogger, signal, c, 50, {
          restartDelayMs: 50,
          onWorker: (worker: Worker) => {
            // The first worker is terminated as soon as it has booted: the second one does the work.
            if (!killed) {
              killed = true;
              worker.once('online', () => void worker.terminate());
            }
          },
        }),
      EVENTS + 1,
    );
    expect(killed).toBe(true);
    expect(counters.archiver.records).toBeGreaterThanOrEqual(EVENTS + 1);
    const archived = await archivedLines(config);
    const changeLines = Object.entries(archived).filter(([folder]) => folder !== 'errors').flatMap(([, lines]) => lines);
    expect(new Set(changeLines).size).toBe(EVENTS);
    expect(await lagOf(config, CONSUMERS.archiver)).toBe(0);
  }, 120_000);

  /** The worker's line about its priority, with the stage still running; then stops it. */
  async function priorityLine(niceness?: number): Promise<{ line: { threadId: number | null; niceness: number | null }; priorityWhileRunning: number | null }> {
    const config = await seededConfig('debug');
    const lines: string[] = [];
    const logger = createLogger({ service: 'test', level: 'debug', write: (line) => lines.push(line) });
    const stop = new AbortController();
    const stage = runArchiverStageOnThread(config, logger, stop.signal, newCounters(), 50, { niceness });
    try {
      const line = JSON.parse(await waitFor(() => lines.find((l) => l.includes('"archiver thread priority"')), { timeoutMs: 30_000 })) as { threadId: number | null; niceness: number | null };
      return { line, priorityWhileRunning: line.threadId === null ? null : os.getPriority(line.threadId) };
    } finally {
      stop.abort();
      await stage;
    }
  }

  it.runIf(process.platform === 'linux')('runs at a lower priority when asked (sync, after a snapshot): its own thread niced, this thread untouched', async () => {
    const ours = os.getPriority();
    const { line, priorityWhileRunning } = await priorityLine(ARCHIVER_THREAD_NICENESS);
    expect(line.niceness).toBe(ARCHIVER_THREAD_NICENESS);
    expect(line.threadId).not.toBe(process.pid);
    expect(priorityWhileRunning).toBe(ARCHIVER_THREAD_NICENESS);
    expect(os.getPriority()).toBe(ours);
    // Not asked (sync's catch-up from the WAL): the thread keeps its priority.
    expect((await priorityLine()).line).toMatchObject({ threadId: null, niceness: null });
  }, 60_000);
});
