/**
 * Catch-up throughput: how fast `totesys-cdc sync` brings the warehouse up to date after an outage
 * and on its first run against a seeded source, next to the two rates the live path should match,
 * measured in the same run on the same WAL / archive:
 *  - first sync: `seed --scale BENCH_SCALE` (default 2), then a timed `sync` (snapshot of every row
 *    through capture, processor, archiver and loader);
 *  - catch-up sync: BENCH_BACKLOG_CHANGES row changes (default 200,000) in BENCH_BACKLOG_TRANSACTIONS
 *    transactions (default 2,000) written while nothing runs, then a timed `sync`;
 *  - capture only (bench:capture's way): runCapture into a fresh local log from a second slot
 *    positioned at the backlog's start, so it decodes exactly the WAL the catch-up sync did;
 *  - decoding floor: `pg_recvlogical` (pgoutput to /dev/null) from a third slot at the backlog's
 *    start, so Postgres only decodes and sends that WAL: no client could capture it faster;
 *  - rebuild (bench:replay's way): `replay --rebuild` of the archive both syncs wrote, into its own
 *    warehouse schema.
 * Each `sync` runs as the real CLI in a child process under GNU time: its peak RSS (max RSS) and CPU
 * seconds (user + system, every thread), and with embedded Postgres the cluster's CPU seconds over
 * the same time (on a shared machine, CPU seconds compare across builds better than wall time). Per stage, events/s is the stage's events over its own running time (stages may
 * overlap); end to end is events over the whole command's wall time, CLI start included.
 * The machine is shared: compare the ratios of one run, not absolute figures across runs.
 *
 *   npm run bench:catchup
 *   BENCH_SCALE=10 BENCH_BACKLOG_CHANGES=200000 npm run bench:catchup
 *   external Postgres: --source-url <url> --warehouse-url <url> (or BENCH_SOURCE_URL / BENCH_WAREHOUSE_URL);
 *   the source database must be empty (the bench creates the totesys schema and seeds it) and
 *   gets the replication slots bench_catchup, bench_catchup_capture and bench_catchup_recv, dropped at the end.
 *   BENCH_PHASES=first,catchup,capture,rebuild runs a subset (first is needed by the others).
 *   BENCH_PHASES=first,reload (embedded only): after the first sync, its manifests are loaded again
 *   into fresh schemas by the loader alone, as sync's loader loads them, alternating snapshot reads
 *   straight into the fact tables (loader/first-versions.ts) with the staging way (the switch
 *   totesys_cdc.snapshot_reads = 'staged') and 50,000 with 20,000 rows per transaction,
 *   BENCH_RELOAD_ROUNDS times (default 2): wall time, this process's CPU and Postgres's.
 *   BENCH_CPU_PROF=<dir> profiles each sync (node --cpu-prof into that directory).
 *   BENCH_SYNC_LOG=<path prefix> keeps each sync's JSON log lines in <prefix>-<sync>.log.
 *   BENCH_NODE_ARGS="<flags>" passes Node/V8 flags to each sync process (e.g. GC settings).
 *   BENCH_STATEMENTS=1 (embedded only) prints the warehouse statements each sync (and each reload)
 *   spent most time in (pg_stat_statements).
 *   BENCH_RELOAD_TRACE=1 (with reload) prints, per reload, how much of its wall time the loader's
 *   connection had a statement in flight, and the statements' time by kind as the loader saw it
 *   (bench/statement-timeline.ts).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { LocalDirObjectStore } from '../bucket/local-dir-object-store.js';
import { runCapture } from '../capture/run-capture.js';
import { createLogger, silentLogger } from '../platform/logger.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import { replay } from '../replay/replay.js';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '../runtime/embedded-postgres.js';
import { openLocalLog } from '../stream/local-log/local-log.js';
import { seedTotesys } from '../totesys/generator/seed-totesys.js';
import { applySourceSchema } from '../totesys/source-schema.js';
import { writeBacklog } from './catchup-backlog.js';
import { findPgRecvlogical, timePgRecvlogical } from './pg-recvlogical.js';
import { CountingWriter, postgresCpuSeconds } from './measure.js';
import { recordStatements, summarizeSpans, type StatementSummary } from './statement-timeline.js';
import { CATCH_UP_MANIFESTS_PER_TRANSACTION, loadPendingManifests } from '../loader/run-loader.js';
import { SNAPSHOT_READS_SETTING } from '../loader/first-versions.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 2);
const BACKLOG_CHANGES = Number(process.env.BENCH_BACKLOG_CHANGES ?? 200_000);
const BACKLOG_TRANSACTIONS = Number(process.env.BENCH_BACKLOG_TRANSACTIONS ?? 2_000);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'first,catchup,capture,rebuild').split(','));
const CPU_PROF = process.env.BENCH_CPU_PROF;
const STATEMENTS = process.env.BENCH_STATEMENTS === '1';
const SYNC_LOG = process.env.BENCH_SYNC_LOG;
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const RELOAD_ROUNDS = Number(process.env.BENCH_RELOAD_ROUNDS ?? 2);
const RELOAD_TRACE = process.env.BENCH_RELOAD_TRACE === '1';
const SLOT = 'bench_catchup';
const CAPTURE_SLOT = 'bench_catchup_capture';
const RECV_SLOT = 'bench_catchup_recv';
const REBUILD_SCHEMA = 'bench_rebuild';
const CLI = fileURLToPath(new URL('../bin/totesys-cdc.js', import.meta.url));
const logger = createLogger({ service: 'bench-catchup', level: 'warn' });

function flag(name: string, env: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : process.env[env];
}

interface StageFigures {
  events: number;
  ms: number;
  eventsPerSecond: number;
}

interface SyncRun {
  seconds: number;
  events: number;
  peakRssMb: number;
  /** Peak RSS MB by the end of a phase: `capture` (start-up and capture), `processing` (up to the last loads). */
  peakAtPhase: Record<string, number>;
  /** CPU seconds of the sync process (all threads) and, embedded only, of Postgres during it. */
  cpuSeconds: number;
  postgresCpuSeconds: number;
  stages: Record<'capture' | 'processor' | 'loader', StageFigures> | null;
  summary: Record<string, unknown>;
}

/** Runs `totesys-cdc sync` as a child process; resolves to its wall time, peak RSS and stage figures. */
async function timedSync(env: Record<string, string>, label: string): Promise<SyncRun> {
  const nodeArgs = [...NODE_ARGS, ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF, '--cpu-prof-name', `sync-${label}.cpuprofile`] : [])];
  const started = performance.now();
  // GNU time reports the child's CPU seconds (every thread: the processor worker's too) on its last stderr line.
  const child = spawn('/usr/bin/time', ['-f', 'sync-rusage %U %S %M', process.execPath, ...nodeArgs, CLI, 'sync'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let cpuSeconds = 0;
  // The high-water mark when processing starts (capture's) and when loading alone starts (processing's).
  const peakAtPhase: Record<string, number> = {};
  const notePeak = async (phase: string) => {
    const node = (await fs.readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '')).trim().split(' ')[0];
    const kb = node ? /VmHWM:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${node}/status`, 'utf8').catch(() => ''))?.[1] : undefined;
    if (kb) peakAtPhase[phase] = Math.round(Number(kb) / 1024);
  };
  let stdout = '';
  let stages: SyncRun['stages'] = null;
  let peak = 0;
  const lastErrors: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  let partial = '';
  const logCopy = SYNC_LOG ? createWriteStream(`${SYNC_LOG}-${label}.log`) : undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    logCopy?.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"sync: process"')) void notePeak('capture');
      else if (line.includes('"sync: load"')) void notePeak('processing');
      else if (line.includes('"sync finished"')) stages = (JSON.parse(line) as { stages: SyncRun['stages'] }).stages;
      else if (line.startsWith('sync-rusage ')) {
        const [user, system, maxRssKb] = line.split(' ').slice(1).map(Number);
        cpuSeconds = user! + system!;
        peak = Math.max(peak, maxRssKb! / 1024);
      }
      else if (line.includes('"level":"error"') || line.includes('"level":"warn"')) lastErrors.push(line.slice(0, 400));
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  logCopy?.end();
  if (partial.startsWith('sync-rusage ')) {
    const [user, system, maxRssKb] = partial.split(' ').slice(1).map(Number);
    cpuSeconds = user! + system!;
    peak = Math.max(peak, maxRssKb! / 1024);
  }
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`sync (${label}) exited with ${code}:\n${lastErrors.slice(-5).join('\n')}`);
  const summary = JSON.parse(stdout) as Record<string, unknown>;
  return { seconds, events: Number(summary.eventsCaptured), peakRssMb: Math.round(peak), peakAtPhase, cpuSeconds, postgresCpuSeconds: 0, stages, summary };
}

/** pg_stat_statements of the warehouse database: reset, or print the statements with the most total time. */
async function warehouseStatements(url: string, action: 'reset' | 'print', run = 'catch-up sync'): Promise<void> {
  const client = createPostgresClient({ url, applicationName: 'totesys-cdc-bench' });
  await client.connect();
  try {
    if (action === 'reset') {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await client.query('SELECT pg_stat_statements_reset()');
      return;
    }
    const { rows } = await client.query<{ ms: number; calls: number; rows: number; query: string }>(
      `SELECT round(total_exec_time)::int AS ms, calls::int, rows::int, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 15`,
    );
    const total = await client.query<{ ms: number; calls: number }>(
      `SELECT round(sum(total_exec_time))::int AS ms, sum(calls)::int AS calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    console.log(`warehouse statements of the ${run} (pg_stat_statements): ${total.rows[0]!.ms} ms in ${total.rows[0]!.calls} calls in all; top 15 by total time:`);
    for (const r of rows) console.log(`${String(r.ms).padStart(8)} ms ${String(r.calls).padStart(6)} calls ${String(r.rows).padStart(8)} rows  ${r.query}`);
  } finally {
    await client.end();
  }
}

/**
 * The first sync's manifests loaded again, by the loader alone, into a fresh schema per run: the
 * loader's share of a first sync without capture, processor and archiver sharing the cores.
 */
async function reloadFirstSync(warehouseUrl: string, processedDir: string, pgDataDir: string): Promise<void> {
  const processed = new LocalDirObjectStore(processedDir);
  const variants = [
    { name: 'staging way, 50,000 rows/transaction', staged: true, maxRows: 50_000 },
    { name: 'straight in, 50,000 rows/transaction', staged: false, maxRows: 50_000 },
    { name: 'staging way, 20,000 rows/transaction', staged: true, maxRows: 20_000 },
    { name: 'straight in, 20,000 rows/transaction', staged: false, maxRows: 20_000 },
  ];
  console.log(`\nthe first sync's manifests loaded again by the loader alone (load average ${os.loadavg()[0]!.toFixed(1)})`);
  console.log('| round | loader | seconds | rows loaded | loader CPU s | Postgres CPU s | load average |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  let n = 0;
  const traces: string[] = [];
  for (let round = 1; round <= RELOAD_ROUNDS; round++) {
    for (const variant of variants) {
      const pool = new pg.Pool({ connectionString: warehouseUrl, max: 2, ...(variant.staged ? { options: `-c ${SNAPSHOT_READS_SETTING}=staged` } : {}) });
      const recorded = RELOAD_TRACE ? recordStatements(pool) : undefined;
      try {
        const schema = `bench_reload_${++n}`;
        if (STATEMENTS) await warehouseStatements(warehouseUrl, 'reset');
        const pgBefore = await postgresCpuSeconds(pgDataDir);
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const summary = await loadPendingManifests({ pool, processed, schema, logger, maxManifests: 100_000, maxManifestsPerTransaction: CATCH_UP_MANIFESTS_PER_TRANSACTION, maxRowsPerTransaction: variant.maxRows });
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const pgCpu = (await postgresCpuSeconds(pgDataDir)) - pgBefore;
        if (summary.manifestsFailed > 0) throw new Error(`reload (${variant.name}) failed: ${JSON.stringify(summary.failures.slice(0, 3))}`);
        if (STATEMENTS) await warehouseStatements(warehouseUrl, 'print', `reload ${round} (${variant.name})`);
        if (recorded) traces.push(traceLines(`${round} | ${variant.name}`, summarizeSpans(recorded.spans, started, started + seconds * 1000)));
        console.log(`| ${round} | ${variant.name} | ${seconds.toFixed(2)} | ${summary.rowsLoaded} | ${((cpu.user + cpu.system) / 1e6).toFixed(1)} | ${pgCpu.toFixed(1)} | ${os.loadavg()[0]!.toFixed(1)} |`);
        // Dropped before the next variant: a 476k-row schema left behind is vacuumed and analysed
        // by autovacuum during the next runs, and the Postgres column (the whole cluster) counted it.
        await pool.query(`DROP SCHEMA ${pg.escapeIdentifier(schema)} CASCADE`);
      } finally {
        await pool.end();
      }
    }
  }
  if (traces.length > 0) console.log(`\nthe loader's connection during each reload (statements' time as the loader saw it)\n${traces.join('\n')}`);
}

function traceLines(name: string, trace: StatementSummary): string {
  const busy = `${name}: ${trace.statements} statements; a statement in flight ${Math.round(trace.busyMs)} of ${Math.round(trace.wallMs)} ms (${Math.round((100 * trace.busyMs) / trace.wallMs)}%)`;
  return [busy, ...trace.byKind.slice(0, 8).map((k) => `  ${Math.round(k.ms).toString().padStart(6)} ms ${String(k.count).padStart(5)}x ${k.kind}`)].join('\n');
}

const lsnNow = async (client: pg.Client) => (await client.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
const rate = (events: number, seconds: number) => (seconds > 0 ? Math.round(events / seconds) : 0);
const ratio = (a: number, b: number | null) => (b ? (a / b).toFixed(2) : 'n/a');

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-catchup-'));
  let server: RunningPostgres | undefined;
  let sourceUrl = flag('source-url', 'BENCH_SOURCE_URL');
  let warehouseUrl = flag('warehouse-url', 'BENCH_WAREHOUSE_URL');
  const external = Boolean(sourceUrl && warehouseUrl);
  const source = () => createPostgresClient({ url: sourceUrl!, applicationName: 'totesys-cdc-bench' });
  try {
    if (!external) {
      server = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), logger, settings: { max_wal_size: '4GB', ...(STATEMENTS ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } : {}) } });
      await ensureDatabase(server.url('postgres'), 'totesys');
      await ensureDatabase(server.url('postgres'), 'warehouse');
      sourceUrl = server.url('totesys');
      warehouseUrl = server.url('warehouse');
    }
    const stateDir = path.join(root, 'state');
    const env = {
      TOTESYS_STATE_DIR: stateDir,
      TOTESYS_SOURCE_URL: sourceUrl!,
      TOTESYS_WAREHOUSE_URL: warehouseUrl!,
      TOTESYS_CREATE_SOURCE_SCHEMA: 'true',
      TOTESYS_SLOT_NAME: SLOT,
      TOTESYS_PUBLICATION_NAME: SLOT,
      TOTESYS_LOG_LEVEL: 'info',
    };
    const client = source();
    await client.connect();
    const captureConfig = { capture: { slotName: CAPTURE_SLOT, publicationName: CAPTURE_SLOT, replicaIdentityFull: true, heartbeatIntervalMs: 1000 } };
    try {
      await applySourceSchema(client);
      // The capture-only slot exists before any row does (its snapshot is empty); it is moved to the
      // backlog's start below, so it decodes the same WAL as the catch-up sync.
      await runCapture({ sourceUrl: sourceUrl!, config: captureConfig, writer: new CountingWriter(), logger: silentLogger, stopAtLsn: await lsnNow(client) });
      // pg_recvlogical's slot, likewise moved to the backlog's start: the decoding floor of the same WAL.
      if (PHASES.has('capture')) await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [RECV_SLOT]);
      let t = performance.now();
      const seeded = await seedTotesys(sourceUrl!, { scale: SCALE, seed: 1, applySchema: false });
      console.log(`seeded scale ${SCALE}: ${seeded.totalRows.toLocaleString()} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);

      const rows: Record<string, string | number>[] = [];
      const addSync = (name: string, run: SyncRun, captureRate: number | null, rebuildRate: number | null) => {
        const endToEnd = rate(run.events, run.seconds);
        rows.push({ measurement: `${name}: end to end`, events: run.events, seconds: +run.seconds.toFixed(2), 'events/s': endToEnd, 'peak RSS MB': run.peakRssMb, 'vs capture': ratio(endToEnd, captureRate), 'vs rebuild': ratio(endToEnd, rebuildRate) });
        for (const [stage, f] of Object.entries(run.stages ?? {})) {
          rows.push({ measurement: `${name}: ${stage}`, events: f.events, seconds: +(f.ms / 1000).toFixed(2), 'events/s': f.eventsPerSecond, 'peak RSS MB': '(same process)', 'vs capture': ratio(f.eventsPerSecond, captureRate), 'vs rebuild': ratio(f.eventsPerSecond, rebuildRate) });
        }
      };

      if (STATEMENTS) await warehouseStatements(warehouseUrl!, 'reset');
      const pgDataDir = server ? path.join(root, 'pg') : null;
      const measuredSync = async (label: string) => {
        const before = pgDataDir ? await postgresCpuSeconds(pgDataDir) : 0;
        const run = await timedSync(env, label);
        run.postgresCpuSeconds = pgDataDir ? (await postgresCpuSeconds(pgDataDir)) - before : 0;
        console.log(`${label} sync CPU seconds: sync process ${run.cpuSeconds.toFixed(1)}, Postgres ${pgDataDir ? run.postgresCpuSeconds.toFixed(1) : 'n/a (external)'}; peak RSS MB by phase end: ${JSON.stringify({ ...run.peakAtPhase, end: run.peakRssMb })}`);
        return run;
      };
      const first = await measuredSync('first');
      if (STATEMENTS) await warehouseStatements(warehouseUrl!, 'print', 'first sync');
      console.log(`first sync: ${first.events.toLocaleString()} events in ${first.seconds.toFixed(1)} s`);
      if (PHASES.has('reload') && pgDataDir) await reloadFirstSync(warehouseUrl!, path.join(stateDir, 'buckets', 'processed'), pgDataDir);
      let catchup: SyncRun | undefined;
      let captureOnly: { events: number; seconds: number } | undefined;
      let decodingFloor: { seconds: number; cpuSeconds: number | null; postgresCpuSeconds: number | null } | undefined;
      if (PHASES.has('catchup') || PHASES.has('capture')) {
        const backlogStart = await lsnNow(client);
        t = performance.now();
        const changes = await writeBacklog(client, { changes: BACKLOG_CHANGES, transactions: BACKLOG_TRANSACTIONS });
        const backlogEnd = await lsnNow(client);
        console.log(`backlog: ${changes.toLocaleString()} row changes in ${BACKLOG_TRANSACTIONS.toLocaleString()} transactions, written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        await client.query('CHECKPOINT');
        if (PHASES.has('catchup')) {
          if (STATEMENTS) await warehouseStatements(warehouseUrl!, 'reset');
          catchup = await measuredSync('catchup');
          if (STATEMENTS) await warehouseStatements(warehouseUrl!, 'print');
          console.log(`catch-up sync: ${catchup.events.toLocaleString()} events in ${catchup.seconds.toFixed(1)} s`);
        }
        if (PHASES.has('capture')) {
          await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [CAPTURE_SLOT, backlogStart]);
          const writer = await openLocalLog(path.join(root, 'capture-only-log'), { shards: 4 }).writer();
          t = performance.now();
          const result = await runCapture({ sourceUrl: sourceUrl!, config: captureConfig, writer, logger: silentLogger, stopAtLsn: backlogEnd });
          captureOnly = { events: result.eventsPublished, seconds: (performance.now() - t) / 1000 };
          await writer.close();
          console.log(`capture only: ${captureOnly.events.toLocaleString()} events in ${captureOnly.seconds.toFixed(1)} s`);
          await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [RECV_SLOT, backlogStart]);
          const pgBefore = pgDataDir ? await postgresCpuSeconds(pgDataDir) : null;
          const floor = await timePgRecvlogical(await findPgRecvlogical(), { url: sourceUrl!, slot: RECV_SLOT, publication: CAPTURE_SLOT, endLsn: backlogEnd });
          decodingFloor = { ...floor, postgresCpuSeconds: pgDataDir && pgBefore !== null ? (await postgresCpuSeconds(pgDataDir)) - pgBefore : null };
          console.log(`pg_recvlogical → /dev/null, the same WAL: ${decodingFloor.seconds.toFixed(2)} s (its CPU ${floor.cpuSeconds?.toFixed(1) ?? 'n/a'} s, Postgres ${decodingFloor.postgresCpuSeconds?.toFixed(1) ?? 'n/a (external)'} s)`);
        }
      }
      let rebuild: { events: number; seconds: number } | undefined;
      if (PHASES.has('rebuild')) {
        t = performance.now();
        const summary = await replay({
          ingestion: new LocalDirObjectStore(path.join(stateDir, 'buckets', 'ingestion')),
          processed: new LocalDirObjectStore(path.join(root, 'rebuild-processed')),
          warehouseUrl: warehouseUrl!,
          rebuild: true,
          schema: REBUILD_SCHEMA,
          logger,
        });
        rebuild = { events: summary.eventsReplayed, seconds: (performance.now() - t) / 1000 };
        console.log(`rebuild: ${rebuild.events.toLocaleString()} events in ${rebuild.seconds.toFixed(1)} s`);
      }

      const captureRate = captureOnly ? rate(captureOnly.events, captureOnly.seconds) : null;
      const rebuildRate = rebuild ? rate(rebuild.events, rebuild.seconds) : null;
      addSync(`first sync (scale ${SCALE})`, first, captureRate, rebuildRate);
      if (catchup) addSync('catch-up sync', catchup, captureRate, rebuildRate);
      if (captureOnly) rows.push({ measurement: 'capture only → local log (baseline)', events: captureOnly.events, seconds: +captureOnly.seconds.toFixed(2), 'events/s': captureRate!, 'peak RSS MB': '', 'vs capture': '1.00', 'vs rebuild': ratio(captureRate!, rebuildRate) });
      if (decodingFloor && captureOnly) {
        const floorRate = rate(captureOnly.events, decodingFloor.seconds);
        rows.push({ measurement: 'pg_recvlogical → /dev/null, the same WAL (decoding floor)', events: captureOnly.events, seconds: +decodingFloor.seconds.toFixed(2), 'events/s': floorRate, 'peak RSS MB': '', 'vs capture': ratio(floorRate, captureRate), 'vs rebuild': ratio(floorRate, rebuildRate) });
      }
      if (rebuild) rows.push({ measurement: 'replay --rebuild of the archive (baseline)', events: rebuild.events, seconds: +rebuild.seconds.toFixed(2), 'events/s': rebuildRate!, 'peak RSS MB': '', 'vs capture': ratio(rebuildRate!, captureRate), 'vs rebuild': '1.00' });
      console.log(`\ncatch-up bench (${external ? 'external' : 'embedded'} Postgres, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)})`);
      console.log('| measurement | events | seconds | events/s | peak RSS MB | vs capture | vs rebuild |');
      console.log('|---|---:|---:|---:|---:|---:|---:|');
      for (const r of rows) console.log(`| ${r.measurement} | ${r.events} | ${r.seconds} | ${r['events/s']} | ${r['peak RSS MB']} | ${r['vs capture']} | ${r['vs rebuild']} |`);
      const goal = (name: string, value: number, target: number) => console.log(`${name}: ${value.toLocaleString()} (goal ≥ ${target.toLocaleString()}: ${value >= target ? 'met' : 'NOT met'})`);
      if (catchup) goal('catch-up sync events/s end to end', rate(catchup.events, catchup.seconds), 50_000);
      if (catchup && decodingFloor) {
        // What is left of the goal's time budget once Postgres has only decoded and sent the WAL.
        const budget = catchup.events / 50_000;
        console.log(`  at 50,000 events/s the catch-up has ${budget.toFixed(2)} s; pg_recvlogical alone takes ${decodingFloor.seconds.toFixed(2)} s of it (${Math.round((100 * decodingFloor.seconds) / budget)}%), capture alone ${captureOnly!.seconds.toFixed(2)} s`);
      }
      goal(`first sync events/s end to end (scale ${SCALE}; the goal is for scale 10)`, rate(first.events, first.seconds), 40_000);
      const peak = Math.max(first.peakRssMb, catchup?.peakRssMb ?? 0);
      console.log(`sync peak RSS: ${peak} MB (goal ≤ 512: ${peak <= 512 ? 'met' : 'NOT met'})`);
    } finally {
      for (const slot of [SLOT, CAPTURE_SLOT, RECV_SLOT]) await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]).catch(() => {});
      await client.end();
    }
  } finally {
    await server?.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
