/**
 * The stream processor STAGE alone, as `sync` runs it (`tsx bench/process-stage.ts`): the worker
 * thread (runtime/processor-thread.ts) reading a durable local log, decoding, transforming, writing
 * Parquet and manifests to the local processed bucket, checkpointing, until its first read that
 * finds nothing. bench:catchup measures the same stage inside a whole `sync` (capture before it,
 * archiver and loader beside it); this takes them away, so runs of two builds compare the
 * processor itself.
 *
 * The log is real capture output: an embedded Postgres, `seed --scale BENCH_SCALE` (default 1)
 * and bench:catchup's backlog (BENCH_BACKLOG_CHANGES, default 100,000, in
 * BENCH_BACKLOG_TRANSACTIONS, default 1,000), captured from a slot made before the seed, so the
 * log holds the seed's inserts then the backlog's changes (replica identity full, as sync's).
 * BENCH_LOG_DIR=<dir> keeps it: a later run with the same dir reuses it (no Postgres).
 * BENCH_RUNS (default 3) timed runs, each over a fresh copy of the log and empty state.
 * BENCH_IN_PROCESS=1 runs the stage on this thread (runProcessorStage) instead of a worker.
 * BENCH_CPU_PROF=<dir>: run as `node --cpu-prof ...` to profile; the worker's profile gets the
 * `-processor` suffix (runtime/stage-thread.ts workerExecArgv).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { runCapture } from '../capture/run-capture.js';
import { loadConfig } from '../platform/config.js';
import { createLogger, silentLogger } from '../platform/logger.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '../runtime/embedded-postgres.js';
import { runProcessorStage } from '../runtime/local-stages.js';
import { newCounters } from '../runtime/pipeline-counters.js';
import { runProcessorStageOnThread } from '../runtime/processor-thread.js';
import { openLocalLog } from '../stream/local-log/local-log.js';
import { seedTotesys } from '../totesys/generator/seed-totesys.js';
import { applySourceSchema } from '../totesys/source-schema.js';
import { writeBacklog } from './catchup-backlog.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const BACKLOG_CHANGES = Number(process.env.BENCH_BACKLOG_CHANGES ?? 100_000);
const BACKLOG_TRANSACTIONS = Number(process.env.BENCH_BACKLOG_TRANSACTIONS ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IN_PROCESS = process.env.BENCH_IN_PROCESS === '1';
const SLOT = 'bench_process_stage';
const logger = createLogger({ service: 'bench-process-stage', level: 'warn' });

/** Captures seed + backlog into a 4-shard local log at `dir`; resolves to the events written. */
async function buildLog(dir: string, scratch: string): Promise<number> {
  let server: RunningPostgres | undefined;
  try {
    server = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg'), logger, settings: { max_wal_size: '4GB' } });
    await ensureDatabase(server.url('postgres'), 'totesys');
    const url = server.url('totesys');
    const client = createPostgresClient({ url, applicationName: 'totesys-cdc-bench' });
    await client.connect();
    try {
      await applySourceSchema(client);
      const config = { capture: { slotName: SLOT, publicationName: SLOT, replicaIdentityFull: true, heartbeatIntervalMs: 1000 } };
      await runCapture({ sourceUrl: url, config, writer: new NullWriter(), logger: silentLogger, stopAtLsn: await lsnNow(client) });
      await seedTotesys(url, { scale: SCALE, seed: 1, applySchema: false });
      await writeBacklog(client, { changes: BACKLOG_CHANGES, transactions: BACKLOG_TRANSACTIONS });
      const writer = await openLocalLog(dir, { shards: 4 }).writer();
      const result = await runCapture({ sourceUrl: url, config, writer, logger: silentLogger, stopAtLsn: await lsnNow(client) });
      await writer.close();
      return result.eventsPublished;
    } finally {
      await client.end();
    }
  } finally {
    await server?.stop();
  }
}

class NullWriter {
  async put() {}
  async close() {}
}

const lsnNow = async (client: pg.Client) => (await client.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;

/** One timed run of the stage over a fresh copy of the log: until its first read that finds nothing. */
async function timedRun(logDir: string): Promise<{ events: number; batches: number; seconds: number; cpuSeconds: number; outputBytes: number; digest: string }> {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-process-stage-'));
  try {
    await fs.cp(logDir, path.join(stateDir, 'stream'), { recursive: true });
    const config = loadConfig({ stateDir });
    const counters = newCounters();
    const stop = new AbortController();
    const onIdle = () => stop.abort();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    if (IN_PROCESS) await runProcessorStage(config, logger, stop.signal, counters, undefined, onIdle);
    else await runProcessorStageOnThread(config, logger, stop.signal, counters, undefined, { onIdle });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return { events: counters.processor.events, batches: counters.processor.batches, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, ...(await outputOf(config.paths.processedDir)) };
  } finally {
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}

/**
 * The output's size and a digest that two builds must agree on for the same log: every Parquet
 * file (name and bytes) and every manifest without its write time (createdAt, and the key made
 * from it), in batchId order.
 */
async function outputOf(dir: string): Promise<{ outputBytes: number; digest: string }> {
  let outputBytes = 0;
  const parts: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await fs.readFile(file);
    outputBytes += bytes.length;
    if (file.endsWith('.json')) {
      const { createdAt: _createdAt, ...manifest } = JSON.parse(bytes.toString('utf8')) as { createdAt: string; batchId: string };
      parts.push(`manifest ${manifest.batchId} ${JSON.stringify(manifest)}`);
    } else {
      parts.push(`file ${path.relative(dir, file)} ${createHash('sha256').update(bytes).digest('hex')}`);
    }
  }
  return { outputBytes, digest: createHash('sha256').update(parts.sort().join('\n')).digest('hex').slice(0, 16) };
}

async function main(): Promise<void> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-process-stage-log-'));
  try {
    const logDir = process.env.BENCH_LOG_DIR ?? path.join(scratch, 'log');
    const exists = await fs.stat(path.join(logDir, 'shards')).then(() => true, () => false);
    if (!exists) {
      const t = performance.now();
      const events = await buildLog(logDir, scratch);
      console.log(`log: ${events.toLocaleString()} events captured in ${((performance.now() - t) / 1000).toFixed(1)} s into ${logDir}`);
    }
    console.log(`processor stage (${IN_PROCESS ? 'in process' : 'worker thread'}), ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`);
    // CPU: the whole process's (all its threads: the worker, the main thread, libuv's, the GC's).
    console.log('| run | events | batches | seconds | events/s | CPU s | events per CPU-second | output MB | output digest |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (let run = 1; run <= RUNS; run++) {
      const r = await timedRun(logDir);
      console.log(`| ${run} | ${r.events} | ${r.batches} | ${r.seconds.toFixed(2)} | ${Math.round(r.events / r.seconds)} | ${r.cpuSeconds.toFixed(2)} | ${Math.round(r.events / r.cpuSeconds)} | ${(r.outputBytes / 1e6).toFixed(1)} | ${r.digest} |`);
    }
    const peakRssKb = /VmHWM:\s+(\d+) kB/.exec(await fs.readFile('/proc/self/status', 'utf8').catch(() => ''))?.[1];
    console.log(`load average after: ${os.loadavg()[0]!.toFixed(1)}; peak RSS of this process: ${peakRssKb ? Math.round(Number(peakRssKb) / 1024) : '?'} MB`);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

await main();
