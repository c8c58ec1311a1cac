/**
 * Freshness in the AWS shape (issue 12): commit → warehouse latency through the real capture →
 * Kinesis (kinesalite) → an event-source-mapping stand-in with Lambda's polling and batching-window
 * semantics (test/support/polling-event-source-mapping.ts) → the real processor Lambda handler
 * (join state in DynamoDB/dynalite, Parquet and manifests in S3/s3rver) → the real loader Lambda
 * handler, invoked by a 60 s schedule stand-in with reserved concurrency 1 → warehouse Postgres.
 *
 * Two loader Lambdas read the same processed bucket, each into its own warehouse schema: the
 * draining loader (TOTESYS_LOADER_DRAIN_WINDOW_MS=58000, poll 250 ms) and the one-pass loader (drain
 * window 0, the baseline). They run one after the other, never together: in AWS each has its own
 * CPU, here they would share this process and the warehouse Postgres (that sharing, not the loader,
 * set the draining p99 when they ran side by side). Per rate: a phase of the baseline, then a phase
 * of the draining loader, each under the same steady stream of sales_order updates (one transaction
 * every 100 ms) for the phase's duration, after the loader has caught up with everything before the
 * phase. The latency of every fact row is (its load transaction's commit) − (its source commit),
 * from the warehouse. Also reports the warehouse watermark's age.
 *
 *   npm run bench:freshness:aws [-- --duration 120] [--rates 100,1000]
 *   env: BENCH_DURATION_S (per phase, default 120), BENCH_RATES, BENCH_SHARDS (4), BENCH_BATCH_SIZE
 *   (500), BENCH_BATCH_WINDOW_MS (1000), BENCH_TICK_MS (60000), BENCH_DRAIN_WINDOW_MS (58000),
 *   BENCH_BASELINE=0 (the draining loader alone).
 * The default run takes about 12 minutes. Goal: draining p99 ≤ 5 s at 1,000 changes/s.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { runCapture } from '../capture/run-capture.js';
import { kinesisShardMap } from '../capture/publish/watermark-shard-map.js';
import type { LoadSummary } from '../loader/run-loader.js';
import { readWarehouseStatus } from '../loader/warehouse-status.js';
import { loadConfig } from '../platform/config.js';
import { createLogger, silentLogger } from '../platform/logger.js';
import { openDatabases } from '../runtime/databases.js';
import { prepareSourceSchema } from '../runtime/source-setup.js';
import { createChangeStreamWriter } from '../stream/create-change-stream.js';
import { seedTotesys } from '../totesys/generator/seed-totesys.js';
import { steadyUpdates } from './steady-updates.js';
import { createKinesisClient } from '../stream/kinesis/create-kinesis-client.js';
import type { LambdaKinesisHandler } from '../test/support/kinesis-event-source-mapping.js';
import { PollingEventSourceMapping } from '../test/support/polling-event-source-mapping.js';

const { values: args } = parseArgs({ options: { duration: { type: 'string' }, rates: { type: 'string' } }, allowPositionals: true });
const DURATION_S = Number(args.duration ?? process.env.BENCH_DURATION_S ?? 120);
const RATES = (args.rates ?? process.env.BENCH_RATES ?? '100,1000').split(',').map(Number);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 500);
const BATCH_WINDOW_MS = Number(process.env.BENCH_BATCH_WINDOW_MS ?? 1_000);
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 60_000);
const DRAIN_WINDOW_MS = Number(process.env.BENCH_DRAIN_WINDOW_MS ?? 58_000);
const POLL_INTERVAL_MS = Number(process.env.BENCH_POLL_INTERVAL_MS ?? 250);
const REGION = 'eu-west-2';
const STREAM = 'totesys-cdc-changes';
const BUCKET = 'totesys-cdc-processed';
const STATE_TABLE = 'totesys-cdc-state';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-cdc-warehouse-AbCdEf';
/** BENCH_BASELINE=0 runs the draining loader alone (in AWS it has the warehouse and a CPU to itself). */
const LOADERS = [
  { name: 'one-pass loader (baseline)', schema: 'star_onepass', drainWindowMs: 0 },
  { name: 'draining loader', schema: 'star', drainWindowMs: DRAIN_WINDOW_MS },
].filter((l) => l.drainWindowMs > 0 || process.env.BENCH_BASELINE !== '0');

const logger = createLogger({ service: 'bench-freshness-aws', level: 'warn' });
const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-freshness-aws-'));
const localConfig = loadConfig({ stateDir, logLevel: 'warn' }, {});
const dbs = await openDatabases(localConfig, logger, { exclusive: true, command: 'bench' });
const benchDir = path.dirname(new URL(import.meta.url).pathname);
const startEmulators = (services: 'streams' | 's3') => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, 'freshness-aws-emulators.ts')], {
    env: { ...process.env, EMU_SERVICES: services, EMU_STREAM: STREAM, EMU_SHARDS: String(SHARDS), EMU_BUCKET: BUCKET, EMU_TABLE: STATE_TABLE, EMU_REGION: REGION },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    child.once('exit', (code) => reject(new Error(`emulators (${services}) exited (${code})`)));
  });
  return { child, ready };
};
const emulators = [startEmulators('streams'), startEmulators('s3')];
const endpoints = Object.assign({}, ...(await Promise.all(emulators.map((e) => e.ready)))) as { kinesisEndpoint: string; streamArn: string; s3Endpoint: string; dynamoEndpoint: string };
const kinesis = { endpoint: endpoints.kinesisEndpoint, client: createKinesisClient({ region: REGION, endpoint: endpoints.kinesisEndpoint }) };
const s3 = { endpoint: endpoints.s3Endpoint };
const dynamo = { endpoint: endpoints.dynamoEndpoint };
const streamArn = endpoints.streamArn;
const captureAbort = new AbortController();
const stops: (() => Promise<void>)[] = [];

try {
  // --- source: the totesys schema, seeded ----------------------------------------------------------
  await prepareSourceSchema(dbs.sourceUrl, true);
  await seedTotesys(dbs.sourceUrl, { scale: Number(process.env.BENCH_SEED_SCALE ?? 0.05), seed: 2024, applySchema: false, logger: silentLogger });

  // --- capture → Kinesis, with watermarks ------------------------------------------------------------
  const awsConfig = loadConfig({ stream: 'kinesis', kinesisStreamName: STREAM, kinesisEndpoint: kinesis.endpoint, awsRegion: REGION, stateDir, logLevel: 'warn' }, {});
  const writer = await createChangeStreamWriter(awsConfig, logger);
  const capture = runCapture({ sourceUrl: dbs.sourceUrl, config: awsConfig, writer, logger, signal: captureAbort.signal, shardMap: kinesisShardMap(kinesis.client, STREAM) });
  stops.push(async () => {
    captureAbort.abort();
    await capture.catch((error) => console.error('capture', error));
    await writer.close();
  });

  // --- the event source mapping → processor Lambda (one container per shard) --------------------------
  const lambdaEnv = {
    TOTESYS_BUCKETS: 's3',
    TOTESYS_PROCESSED_BUCKET: BUCKET,
    TOTESYS_S3_ENDPOINT: s3.endpoint,
    TOTESYS_STATE_STORE: 'dynamodb',
    TOTESYS_DYNAMODB_TABLE: STATE_TABLE,
    TOTESYS_DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: REGION,
    TOTESYS_LOG_LEVEL: 'warn',
  };
  // BENCH_CPU_PROF_DIR: every Lambda process writes a V8 CPU profile there when it exits.
  let profiled = 0;
  const cpuProf = (name: string) => (process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`, `--cpu-prof-name=${name}-${++profiled}.cpuprofile`] : []);
  // One process per shard: concurrent Lambda invocations do not share a CPU.
  const containers: ChildProcess[] = [];
  const handlerFor = (): LambdaKinesisHandler => {
    const child = fork(path.join(benchDir, 'freshness-aws-lambda.ts'), [], { env: { ...process.env, ...lambdaEnv }, execArgv: ['--import', 'tsx', ...cpuProf('processor')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    containers.push(child);
    let next = 0;
    const waiting = new Map<number, { resolve: (r: KinesisStreamBatchResponse) => void; reject: (e: Error) => void }>();
    child.on('message', (m: { id: number; response?: KinesisStreamBatchResponse; error?: string }) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.response!);
    });
    return (event, context) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        child.send({ id, event, awsRequestId: context.awsRequestId });
      });
  };
  const mapping = new PollingEventSourceMapping({ client: kinesis.client, streamName: STREAM, streamArn, region: REGION, batchSize: BATCH_SIZE, maximumBatchingWindowMs: BATCH_WINDOW_MS });
  await mapping.start(handlerFor);
  stops.push(async () => {
    await mapping.stop();
    for (const child of containers) child.disconnect();
  });

  // --- two loader Lambdas, each on a 60 s schedule with reserved concurrency 1 ----------------------
  // They run one after the other, never together (in AWS each has its own CPU; here they would share
  // the one warehouse Postgres and this process): per rate, a phase of the one-pass baseline, then a
  // phase of the draining loader under the same load. A loader that was idle catches up first.
  const u = new URL(dbs.warehouseUrl);
  const secret = JSON.stringify({ engine: 'postgres', host: u.hostname, port: Number(u.port), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), dbname: u.pathname.slice(1) });
  // Each loader Lambda in a process of its own (bench/freshness-aws-loader.ts): in AWS it does not
  // share an event loop with the capture task that runs in this process.
  const schedules = LOADERS.map((loader) => {
    const child = fork(path.join(benchDir, 'freshness-aws-loader.ts'), [], {
      env: {
        ...process.env,
        BENCH_SECRET: secret,
        BENCH_S3_ENDPOINT: s3.endpoint,
        BENCH_BUCKET: BUCKET,
        BENCH_REGION: REGION,
        BENCH_TICK_MS: String(TICK_MS),
        TOTESYS_WAREHOUSE_SECRET_ARN: SECRET_ARN,
        TOTESYS_WAREHOUSE_SCHEMA: loader.schema,
        TOTESYS_LOADER_DRAIN_WINDOW_MS: String(loader.drainWindowMs),
        TOTESYS_LOADER_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
      },
      execArgv: ['--import', 'tsx', ...cpuProf(`loader-${loader.schema}`)],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const summaries: LoadSummary[] = [];
    return {
      ...loader,
      summaries,
      start() {
        child.send({ type: 'start' });
      },
      stop(): Promise<void> {
        return new Promise((resolve) => {
          child.once('message', (m: { type: string; summaries: LoadSummary[]; spans: Record<string, { n: number; ms: number }> }) => {
            summaries.push(...m.summaries);
            if (Object.keys(m.spans).length > 0) console.error(`${loader.name}: time spent (BENCH_LOADER_SPANS)`, JSON.stringify(m.spans));
            resolve();
          });
          child.send({ type: 'stop' });
        });
      },
      close() {
        child.disconnect();
      },
    };
  });
  stops.push(async () => {
    for (const s of schedules) s.close();
  });

  const source = new pg.Client({ connectionString: dbs.sourceUrl });
  const warehouse = new pg.Client({ connectionString: dbs.warehouseUrl });
  await source.connect();
  await warehouse.connect();
  stops.push(async () => {
    await source.end();
    await warehouse.end();
  });
  // Every fact row the source has produced so far: the snapshot's orders plus every update made.
  let factsSoFar = Number((await source.query('SELECT count(*) AS n FROM sales_order')).rows[0].n);

  const results: Record<string, Record<string, string | number>> = {};
  for (const rate of RATES) {
    for (const s of schedules) {
      // Steady state only: the loader first catches up with everything before the phase (the snapshot, the other phases).
      s.start();
      const catchUpStarted = Date.now();
      while ((await factCount(warehouse, s.schema)) < factsSoFar) await sleep(500);
      console.error(`${s.name}: caught up (${factsSoFar} fact rows) in ${((Date.now() - catchUpStarted) / 1000).toFixed(0)} s; ${rate} changes/s for ${DURATION_S} s…`);
      const from = new Date();
      const cpuBefore = cpuSecondsByRole();
      const ages: number[] = [];
      const sampling = setInterval(() => {
        void readWarehouseStatus(dbs.warehouseUrl, s.schema).then((status) => status.watermarkAgeMs !== null && ages.push(status.watermarkAgeMs), () => undefined);
      }, 2_000);
      const expected = await steadyUpdates(dbs.sourceUrl, rate, DURATION_S * 1_000);
      const to = new Date();
      const cpuUsed = cpuDelta(cpuBefore, cpuSecondsByRole(), (to.getTime() - from.getTime()) / 1000);
      console.error(`${s.name} at ${rate}/s: CPU cores used during the phase (load average ${os.loadavg()[0].toFixed(1)}): ${cpuUsed}`);
      factsSoFar += expected;
      // Every change of the phase must reach the warehouse: the one-pass loader needs its next tick.
      const deadline = Date.now() + TICK_MS + 30_000;
      while (Date.now() < deadline && (await rowsSince(warehouse, s.schema, from)) < expected) await sleep(1_000);
      clearInterval(sampling);
      await s.stop();
      const r = await latency(warehouse, s.schema, from, to);
      const st = await stages(warehouse, s.schema, from, to);
      ages.sort((a, b) => a - b);
      results[`${rate}/s ${s.name}`] = {
        'rows measured': r.n,
        'p50 ms': Math.round(r.p50),
        'p99 ms': Math.round(r.p99),
        'max ms': Math.round(r.max),
        'commit→manifest p50/p99 ms': `${Math.round(st.to_manifest_p50)}/${Math.round(st.to_manifest_p99)}`,
        'manifest→loaded p50/p99 ms': `${Math.round(st.to_load_p50)}/${Math.round(st.to_load_p99)}`,
        'watermark age p50/max ms': ages.length ? `${Math.round(ages[Math.floor(ages.length / 2)])}/${Math.round(ages.at(-1)!)}` : '-',
        ...(rate >= 1_000 && s.drainWindowMs > 0 ? { 'goal p99 ≤ 5000 ms': r.p99 <= 5_000 ? 'met' : 'NOT met' } : {}),
      };
    }
  }
  const invocations = mapping.invocations;
  console.log('\nfreshness in the AWS shape: commit → warehouse (kinesalite, ESM stand-in, processor Lambda, s3rver, loader Lambda on a 60 s schedule)');
  console.log(
    `settings: ${SHARDS} shards, batch size ${BATCH_SIZE}, batching window ${BATCH_WINDOW_MS} ms, schedule every ${TICK_MS / 1000} s, drain window ${DRAIN_WINDOW_MS} ms, poll ${POLL_INTERVAL_MS} ms; ` +
      `${invocations.length} processor invocations, mean ${Math.round(invocations.reduce((n, i) => n + i.records, 0) / Math.max(1, invocations.length))} records, ` +
      `mean ${Math.round(invocations.reduce((n, i) => n + i.durationMs, 0) / Math.max(1, invocations.length))} ms`,
  );
  console.table(results);
  for (const s of schedules) {
    const runs = s.summaries;
    const passes = runs.reduce((n, r) => n + r.listings, 0);
    const loaded = runs.reduce((n, r) => n + r.manifestsLoaded, 0);
    const listingMs = runs.reduce((n, r) => n + r.listingMs, 0);
    console.log(`${s.name}: ${loaded} manifests loaded in ${passes} listing passes (mean listing ${Math.round(listingMs / Math.max(1, passes))} ms; loading ${Math.round((runs.reduce((n, r) => n + r.durationMs, 0) - listingMs) / Math.max(1, loaded))} ms per manifest incl. polling waits)`);
    console.log(`${s.name}: ${runs.length} invocations, ${runs.filter((r) => r.status === 'locked').length} found the lock taken, max overlap 0 (reserved concurrency 1 stand-in), mean duration ${Math.round(runs.reduce((n, r) => n + r.durationMs, 0) / Math.max(1, runs.length))} ms`);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch((error) => console.error(error));
  kinesis.client.destroy();
  for (const e of emulators) e.child.kill('SIGTERM');
  await dbs.close();
  await fs.rm(stateDir, { recursive: true, force: true });
}

/**
 * CPU seconds so far of this bench's process tree, by role (Linux: `ps`; elsewhere empty): where
 * the machine's CPU goes during a phase. Postgres is matched by its process title.
 */
function cpuSecondsByRole(): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = execFileSync('ps', ['-eo', 'pid=,ppid=,times=,args='], { encoding: 'utf8' });
  } catch {
    return out;
  }
  const rows = text
    .trim()
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), seconds: Number(m[3]), args: m[4]! }));
  const children = new Map<number, typeof rows>();
  for (const r of rows) children.set(r.ppid, [...(children.get(r.ppid) ?? []), r]);
  const roleOf = (args: string) =>
    /freshness-aws-lambda/.test(args) ? 'processor Lambdas' : /freshness-aws-loader/.test(args) ? 'loader Lambda' : /freshness-aws-emulators/.test(args) ? 'emulators' : /^postgres/.test(args) ? 'postgres' : 'bench + capture';
  const visit = (pid: number, args: string) => {
    const row = rows.find((r) => r.pid === pid);
    if (row) out.set(roleOf(args), (out.get(roleOf(args)) ?? 0) + row.seconds);
    for (const child of children.get(pid) ?? []) visit(child.pid, child.args);
  };
  visit(process.pid, 'bench');
  return out;
}

function cpuDelta(before: Map<string, number>, after: Map<string, number>, seconds: number): string {
  return [...after]
    .map(([role, cpu]) => `${role} ${((cpu - (before.get(role) ?? 0)) / seconds).toFixed(2)}`)
    .join(', ');
}

async function factCount(warehouse: pg.Client, schema: string): Promise<number> {
  const { rows } = await warehouse.query(`SELECT count(*) AS n FROM ${schema}.fact_sales_order`).catch(() => ({ rows: [{ n: -1 }] }));
  return Number(rows[0].n);
}

async function rowsSince(warehouse: pg.Client, schema: string, from: Date): Promise<number> {
  const { rows } = await warehouse.query(`SELECT count(*) AS n FROM ${schema}.fact_sales_order WHERE commit_ts >= $1 AND op = 'u'`, [from]);
  return Number(rows[0].n);
}

/**
 * Per fact row: when its load became visible − its source commit. `loaded_at` is the load
 * transaction's start (now()), the same instant as its ledger row's; the ledger's duration_ms
 * brings it to the commit.
 */
async function latency(warehouse: pg.Client, schema: string, from: Date, to: Date) {
  const { rows } = await warehouse.query(
    `WITH loads AS (SELECT loaded_at, max(duration_ms) AS duration_ms FROM ${schema}.load_ledger GROUP BY loaded_at),
     latency AS (
       SELECT extract(epoch FROM (f.loaded_at - f.commit_ts)) * 1000 + coalesce(l.duration_ms, 0) AS ms
       FROM ${schema}.fact_sales_order f LEFT JOIN loads l ON l.loaded_at = f.loaded_at
       WHERE f.commit_ts >= $1 AND f.commit_ts < $2 AND f.op = 'u')
     SELECT count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max FROM latency`,
    [from, to],
  );
  return rows[0] as { n: number; p50: number; p99: number; max: number };
}

/**
 * Where the time goes, per manifest: its newest commit → the manifest written (capture, Kinesis,
 * the mapping's polling and batching window, the processor), and written → loaded (the loader).
 */
async function stages(warehouse: pg.Client, schema: string, from: Date, to: Date) {
  const { rows } = await warehouse.query(
    `WITH m AS (SELECT extract(epoch FROM (manifest_created_at - max_commit_ts)) * 1000 AS to_manifest,
                       extract(epoch FROM (loaded_at - manifest_created_at)) * 1000 + duration_ms AS to_load
                FROM ${schema}.load_ledger WHERE max_commit_ts >= $1 AND max_commit_ts < $2)
     SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY to_manifest) AS to_manifest_p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY to_manifest) AS to_manifest_p99,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY to_load) AS to_load_p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY to_load) AS to_load_p99 FROM m`,
    [from, to],
  );
  return rows[0] as { to_manifest_p50: number; to_manifest_p99: number; to_load_p50: number; to_load_p99: number };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
