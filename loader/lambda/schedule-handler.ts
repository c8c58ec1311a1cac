import type { Context, ScheduledEvent } from 'aws-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ObjectStore } from '../../bucket/object-store.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { ConfigError, errorMessage, isAuthenticationFailure, isRetryable } from '../../platform/errors.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { CATCH_UP_MANIFESTS_PER_TRANSACTION, loadPendingManifests, type LoadPendingOptions, type LoadSummary } from '../run-loader.js';
import { loaderEmfLine, watermarkEmfLine } from './emf.js';
import { prefetchingStore } from './prefetching-store.js';
import { readWarehouseWatermark } from '../load-ledger.js';
import { withPoolClient, type WarehousePool } from '../warehouse-pool.js';
import { createObjectStore } from '../../bucket/create-object-store.js';
import { rotatingWarehouse, type RotatingWarehouse } from './warehouse-secret.js';

/**
 * EventBridge rate(1 minute) → one loader run. One run at a time: reserved concurrency 1 in infra
 * plus the loader's advisory lock (a run that finds the lock taken returns at once). The warehouse
 * URL comes from the RDS secret (TOTESYS_WAREHOUSE_SECRET_ARN), fetched once per container and
 * cached with its pool; metrics go to stdout as CloudWatch EMF.
 *
 * Draining (TOTESYS_LOADER_DRAIN_WINDOW_MS > 0): the run keeps loading new manifests, polling every
 * TOTESYS_LOADER_POLL_INTERVAL_MS, until the window ends, counted from the tick that scheduled it
 * (event.time), never from a late start, and never later than the function's remaining time minus
 * TIMEOUT_RESERVE_MS. With a 58 s window on a 1-minute schedule each run ends about 2 s before the
 * next tick: consecutive runs hand over without a gap and never overlap. While it drains, the run
 * also writes the watermark age every WATERMARK_METRIC_INTERVAL_MS (the WarehouseStale alarm's
 * periods must not go empty on a healthy pipeline).
 */
export interface ScheduleHandlerDeps {
  getSecret(secretArn: string): Promise<string | undefined>;
  openProcessedStore(): ObjectStore;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Where EMF lines go (default stdout). */
  writeMetrics?: (line: string) => void;
  load?: (options: LoadPendingOptions) => Promise<LoadSummary>;
  /** How often a draining run writes the watermark age (default WATERMARK_METRIC_INTERVAL_MS; 0: only at the end). */
  watermarkMetricIntervalMs?: number;
}

/**
 * A draining run writes the watermark age this often, besides its end-of-run line, so every
 * 1-minute period of the WarehouseStale alarm holds datapoints while the loader runs (a period
 * without any is breaching): test/infra/warehouse-stale-alarm.test.ts. One indexed read of the
 * per-shard watermark table on a second connection of the pool.
 */
export const WATERMARK_METRIC_INTERVAL_MS = 20_000;

/**
 * A draining run prefetches manifests written at most this long before it started, and later: the
 * previous run drained until about 2 s before this run's tick, so older ones are loaded already.
 */
export const PREFETCH_LOOKBACK_MS = 5_000;

/** Longest wait before a draining run that failed on a transient error drains on (doubling from the poll interval). */
export const RETRY_BACKOFF_MAX_MS = 5_000;

/** Room left before the function's timeout for the load in progress when a drain ends. */
export const TIMEOUT_RESERVE_MS = 10_000;

/** When a run's drain ends (epoch ms); undefined: one pass. Pure, so the schedule arithmetic is tested alone. */
export function drainDeadline(args: { nowMs: number; eventTime?: string; drainWindowMs: number; remainingMs?: number }): number | undefined {
  if (args.drainWindowMs <= 0) return undefined;
  const tickMs = Date.parse(args.eventTime ?? '');
  // The tick, unless it is unknown or in the future (clock skew): a run that starts late ends on time.
  const from = Number.isNaN(tickMs) || tickMs > args.nowMs ? args.nowMs : tickMs;
  let deadline = from + args.drainWindowMs;
  if (args.remainingMs !== undefined) deadline = Math.min(deadline, args.nowMs + args.remainingMs - TIMEOUT_RESERVE_MS);
  return deadline > args.nowMs ? deadline : undefined;
}

export type ScheduleHandler = (event: ScheduledEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<LoadSummary>;

export function createScheduleHandler(deps: ScheduleHandlerDeps): ScheduleHandler {
  const env = deps.env ?? process.env;
  const logger = deps.logger ?? createLogger({ service: 'loader', level: loadConfig({}, env).logLevel });
  const writeMetrics = deps.writeMetrics ?? ((line: string) => process.stdout.write(line + '\n'));
  const load = deps.load ?? loadPendingManifests;
  const metricIntervalMs = deps.watermarkMetricIntervalMs ?? WATERMARK_METRIC_INTERVAL_MS;
  let warehouse: RotatingWarehouse | undefined;
  let processed: ObjectStore | undefined;

  let config: Readonly<Config> | undefined;
  const warehouseFor = (): RotatingWarehouse => {
    const { secretArn, sslmode, ...endpoint } = config!.databaseFields.warehouse;
    if (!secretArn) throw new ConfigError('TOTESYS_WAREHOUSE_SECRET_ARN is not set: set it to the ARN of the warehouse RDS secret');
    return (warehouse ??= rotatingWarehouse({ secretArn, getSecret: deps.getSecret, sslmode, endpoint, logger }));
  };

  return async (event, context) => {
    processed ??= deps.openProcessedStore();
    config ??= loadConfig({}, env);
    const { loader: { drainWindowMs, pollIntervalMs }, warehouseSchema } = config;
    const invocationStartedMs = Date.now();
    const drainUntilMs = drainDeadline({ nowMs: Date.now(), eventTime: event.time, drainWindowMs, remainingMs: context?.getRemainingTimeInMillis() });
    const runLogger = logger.child({ invocation: event.id });
    const summary = await warehouseFor().run(async (pool) => {
      const reporting = drainUntilMs === undefined ? undefined : reportWatermarkAge(pool, warehouseSchema, metricIntervalMs, writeMetrics, runLogger);
      const options: LoadPendingOptions = {
        pool,
        // A drain reads each new manifest and its files as soon as a poll lists it (prefetching-store.ts).
        processed: drainUntilMs === undefined ? processed! : prefetchingStore(processed!, { freshSinceMs: invocationStartedMs - PREFETCH_LOOKBACK_MS }),
        logger: runLogger,
        schema: warehouseSchema,
        drainUntilMs,
        pollIntervalMs,
        // A drain sees several small manifests a second: a backlog loads together (one transaction).
        maxManifestsPerTransaction: CATCH_UP_MANIFESTS_PER_TRANSACTION,
      };
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            // The summary (and so the EMF counts) is the last attempt's; what a failed one loaded is in the ledger.
            return await load(options);
          } catch (error) {
            // A transient failure mid-drain (an S3 500 after the SDK's retries, a lost connection):
            // drain on after a backoff instead of losing the rest of the minute; a run is
            // idempotent (the ledger). Anything else, or no time left, fails the invocation.
            const waitMs = Math.min(RETRY_BACKOFF_MAX_MS, pollIntervalMs * 2 ** attempt);
            if (drainUntilMs === undefined || !isRetryable(error) || isAuthenticationFailure(error) || Date.now() + waitMs >= drainUntilMs) throw error;
            runLogger.warn('loader run failed mid-drain; draining on after a backoff', { error: errorMessage(error), attempt: attempt + 1, waitMs });
            await new Promise((resolve) => setTimeout(resolve, waitMs));
          }
        }
      } finally {
        await reporting?.stop();
      }
    });
    writeMetrics(loaderEmfLine(summary));
    return summary;
  };
}

/**
 * While a run drains: every intervalMs, the warehouse watermark's age as an EMF line. Reads never
 * overlap; a failed read (the schema not migrated yet, a lost connection) is logged and skipped:
 * the run itself reports what matters.
 */
function reportWatermarkAge(pool: WarehousePool, schema: string, intervalMs: number, writeMetrics: (line: string) => void, logger: Logger): { stop(): Promise<void> } | undefined {
  if (!(intervalMs > 0)) return undefined;
  let reading: Promise<void> | undefined;
  const timer = setInterval(() => {
    reading ??= withPoolClient(pool, async (client) => {
      const { watermarkAgeMs } = await readWarehouseWatermark(client, schema);
      if (watermarkAgeMs !== null) writeMetrics(watermarkEmfLine(schema, watermarkAgeMs));
    })
      .catch((error: unknown) => logger.debug('watermark age not read; the end of the run reports it', { error: errorMessage(error) }))
      .finally(() => {
        reading = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await reading;
    },
  };
}

/** Production wiring: Secrets Manager + the processed bucket from config (buckets must be s3). */
export const handler = createScheduleHandler({
  getSecret: async (secretArn) => {
    const client = new SecretsManagerClient({});
    return (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  },
  openProcessedStore: () => {
    const config = loadConfig();
    if (config.buckets.kind !== 's3') throw new ConfigError('the loader Lambda needs TOTESYS_BUCKETS=s3 and TOTESYS_PROCESSED_BUCKET');
    return createObjectStore(config, 'processed');
  },
});
