/**
 * One loader Lambda for bench/freshness-aws.ts, in a process of its own (in AWS the loader has its
 * own CPU: it does not share an event loop with the capture task): the real schedule handler,
 * invoked by a schedule stand-in (EventBridge rate(BENCH_TICK_MS) → reserved concurrency 1).
 * Driven over IPC: {type: 'start'} starts the schedule (a tick at once, then every tick);
 * {type: 'stop'} ends the drain in progress (after its current load) and the schedule, and is
 * answered with {type: 'stopped', summaries} (the LoadSummary of every invocation since the start).
 * Env: the Lambda's own (TOTESYS_WAREHOUSE_SECRET_ARN, TOTESYS_WAREHOUSE_SCHEMA,
 * TOTESYS_LOADER_DRAIN_WINDOW_MS, TOTESYS_LOADER_POLL_INTERVAL_MS) plus BENCH_SECRET (the secret's
 * JSON, standing in for Secrets Manager), BENCH_S3_ENDPOINT, BENCH_BUCKET, BENCH_REGION, BENCH_TICK_MS.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { createS3Client, S3ObjectStore } from '../bucket/s3-object-store.js';
import { createScheduleHandler, type ScheduleHandler } from '../loader/lambda/schedule-handler.js';
import { loadPendingManifests, type LoadPendingOptions, type LoadSummary } from '../loader/run-loader.js';
import { silentLogger } from '../platform/logger.js';
import type { ObjectStore } from '../bucket/object-store.js';
import type { WarehouseClient, WarehousePool } from '../loader/warehouse-pool.js';

const env = process.env;
const REGION = env.BENCH_REGION ?? 'eu-west-2';
const TICK_MS = Number(env.BENCH_TICK_MS ?? 60_000);
const LAMBDA_TIMEOUT_MS = 300_000;

/** Where the loader's time goes (BENCH_LOADER_SPANS=1): bucket reads and SQL statements, by kind. */
const spans = new Map<string, { n: number; ms: number }>();
const note = (what: string, ms: number) => {
  const entry = spans.get(what) ?? { n: 0, ms: 0 };
  entry.n++;
  entry.ms += ms;
  spans.set(what, entry);
};
const span = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  if (env.BENCH_LOADER_SPANS !== '1') return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    note(what, performance.now() - started);
  }
};
const timedStore = (store: ObjectStore): ObjectStore => {
  if (env.BENCH_LOADER_SPANS !== '1') return store;
  const timed: ObjectStore = Object.create(store);
  timed.get = (key) => span(`s3 GET ${key.startsWith('manifests/') ? 'manifest' : 'parquet'}`, () => store.get(key));
  timed.list = async function* (prefix, options) {
    const started = performance.now();
    yield* store.list(prefix, options);
    note('s3 LIST', performance.now() - started);
  };
  return timed;
};
const timedPool = (pool: WarehousePool): WarehousePool => ({
  ...pool,
  connect: async () => {
    const client = await pool.connect();
    const timed: WarehouseClient = Object.create(client);
    timed.query = ((text: unknown, values?: unknown[]) =>
      typeof text === 'string' ? span(`sql ${sqlKind(text)}`, () => client.query(text, values)) : client.query(text as never)) as WarehouseClient['query'];
    return timed;
  },
});
const sqlKind = (text: string) => {
  const words = text.trim().replace(/\s+/g, ' ').split(' ');
  const verb = words[0]!.toUpperCase();
  const table = /(?:INTO|FROM|TABLE|UPDATE) (?:IF NOT EXISTS )?("?[\w.]+"?(?:\."?\w+"?)?)/i.exec(text)?.[1]?.replace(/"/g, '').replace(/^[\w]+\./, '') ?? '';
  return verb === 'WITH' || verb === 'INSERT' || verb === 'CREATE' || verb === 'SELECT' || verb === 'UPDATE' || verb === 'DELETE' ? `${verb} ${table}`.trim() : verb;
};

let phase = new AbortController();
const handler = createScheduleHandler({
  getSecret: async () => env.BENCH_SECRET,
  openProcessedStore: () => timedStore(new S3ObjectStore(createS3Client({ region: REGION, endpoint: env.BENCH_S3_ENDPOINT }), env.BENCH_BUCKET!)),
  env,
  logger: silentLogger,
  writeMetrics: () => undefined,
  // The phase's end ends a drain in progress (after its current load), so the next phase starts alone.
  load: (options) => span('run', () => loadPendingManifests({ ...options, ...(options.pool && env.BENCH_LOADER_SPANS === '1' ? { pool: timedPool(options.pool), warehouseUrl: undefined } : {}), signal: phase.signal } as LoadPendingOptions)),
});

let running: { stop(): Promise<void> } | undefined;
let summaries: LoadSummary[] = [];
process.on('message', (message: { type: 'start' | 'stop' }) => {
  if (message.type === 'start' && !running) {
    phase = new AbortController();
    summaries = [];
    running = runSchedule(handler, summaries);
  } else if (message.type === 'stop') {
    phase.abort();
    void (running?.stop() ?? Promise.resolve()).then(() => {
      running = undefined;
      process.send!({ type: 'stopped', summaries, spans: Object.fromEntries([...spans].map(([k, v]) => [k, { n: v.n, ms: Math.round(v.ms) }])) });
      spans.clear();
    });
  }
});
process.on('disconnect', () => process.exit(0));

/**
 * EventBridge rate(TICK_MS) → the loader Lambda with reserved concurrency 1: a tick that finds the
 * previous invocation still running is throttled and retried when it ends (Lambda's async retry),
 * with the tick's own event time; invocations never overlap.
 */
function runSchedule(scheduled: ScheduleHandler, out: LoadSummary[]): { stop(): Promise<void> } {
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  const tick = () => {
    const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const tickAt = Date.now();
    chain = chain.then(async () => {
      if (stopped) return;
      const event = { version: '0', id: `tick-${tickAt}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time, region: REGION, resources: [], detail: {} } as ScheduledEvent;
      const started = Date.now();
      try {
        out.push(await scheduled(event, { getRemainingTimeInMillis: () => LAMBDA_TIMEOUT_MS - (Date.now() - started) }));
      } catch (error) {
        console.error('loader invocation failed', error);
      }
    });
  };
  tick();
  const timer = setInterval(tick, TICK_MS);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
    },
  };
}
