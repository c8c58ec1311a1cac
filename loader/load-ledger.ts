import type { BatchManifest } from '../contracts/manifest.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { isManifestKey } from '../contracts/manifest-layout.js';
import { warehouseWatermark, type ShardWatermark, type StoredShardWatermark } from '../contracts/watermark.js';
import { FAILURES_TABLE, LEDGER_TABLE, qualified, WATERMARKS_TABLE } from './warehouse-ddl.js';
import type { WarehouseClient } from './warehouse-pool.js';

/**
 * The load ledger (one row per loaded batch, keyed by batchId) and the failure table. The ledger
 * row is written in the same transaction as the batch's rows: a batch is either fully loaded and
 * recorded, or neither.
 */
export interface RetryPolicy {
  /** Attempts before a manifest is parked (left in load_failures, alarm-worthy). */
  maxAttempts: number;
  /** Delay before retry n is base * 2^(n-1). */
  retryBaseMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, retryBaseMs: 30_000 };

/**
 * How far behind the newest loaded manifest the listing restarts. Processors write manifests
 * concurrently and a slow one (a Lambda may run up to 15 minutes) can write a key that sorts before
 * keys already loaded; every key inside the window is listed again and the ledger drops the ones
 * already loaded.
 */
export const DEFAULT_LOOKBACK_MS = 15 * 60_000;

export async function isBatchLoaded(client: WarehouseClient, schema: string, batchId: string): Promise<boolean> {
  const { rowCount } = await client.query(`SELECT 1 FROM ${qualified(schema, LEDGER_TABLE)} WHERE batch_id = $1`, [batchId]);
  return (rowCount ?? 0) > 0;
}

/** Records a loaded batch; returns false when the batch was already recorded (then the caller rolls back). */
export async function recordLoadedBatch(
  client: Pick<WarehouseClient, 'query'>,
  schema: string,
  manifestKey: string,
  manifest: BatchManifest,
  rows: Record<string, number>,
  durationMs: number,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO ${qualified(schema, LEDGER_TABLE)}
       (batch_id, manifest_key, manifest_created_at, rows, event_count, first_event_id, last_event_id, min_commit_ts, max_commit_ts, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (batch_id) DO NOTHING`,
    // A watermark-only manifest (no events) holds no commit: its commit times are not recorded.
    [manifest.batchId, manifestKey, manifest.createdAt, JSON.stringify(rows), manifest.eventCount, manifest.firstEventId, manifest.lastEventId, manifest.eventCount > 0 ? manifest.minCommitTs : null, manifest.eventCount > 0 ? manifest.maxCommitTs : null, Math.round(durationMs)],
  );
  await client.query(`DELETE FROM ${qualified(schema, FAILURES_TABLE)} WHERE manifest_key = $1`, [manifestKey]);
  return rowCount === 1;
}

/**
 * Advances the per-shard watermarks a manifest carries, in the manifest's transaction (so a
 * watermark is recorded exactly when the rows before it are). Never moves one back. While any
 * manifest is failed or parked the watermarks are held: that manifest's changes may be older than
 * the watermark, and "the warehouse holds everything before T" would be false; the watermark age
 * then grows and the stale alarm fires, as it should for a stuck load.
 */
export async function recordWatermarks(client: Pick<WarehouseClient, 'query'>, schema: string, manifestKey: string, watermarks: readonly ShardWatermark[] | undefined): Promise<number> {
  if (!watermarks || watermarks.length === 0) return 0;
  const table = qualified(schema, WATERMARKS_TABLE);
  const { rowCount } = await client.query(
    `INSERT INTO ${table} AS w (shard_id, watermark_ts, watermark_lsn, open_shards, manifest_key)
     SELECT shard_id, ts, lsn, open_shards, $5 FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS x(shard_id, ts, lsn, open_shards_csv)
       CROSS JOIN LATERAL (SELECT string_to_array(open_shards_csv, ',') AS open_shards) o
     WHERE NOT EXISTS (SELECT 1 FROM ${qualified(schema, FAILURES_TABLE)})
     ON CONFLICT (shard_id) DO UPDATE SET watermark_ts = excluded.watermark_ts, watermark_lsn = excluded.watermark_lsn,
       open_shards = excluded.open_shards, manifest_key = excluded.manifest_key, updated_at = now()
     WHERE excluded.watermark_ts > w.watermark_ts`,
    [watermarks.map((w) => w.shardId), watermarks.map((w) => w.ts), watermarks.map((w) => w.lsn), watermarks.map((w) => w.openShards.join(',')), manifestKey],
  );
  return rowCount ?? 0;
}

/** The warehouse watermark (contracts/watermark.ts) and its age; nulls before the first watermark is loaded. */
export async function readWarehouseWatermark(client: Pick<WarehouseClient, 'query'>, schema: string, now = Date.now()): Promise<{ watermarkTs: string | null; watermarkAgeMs: number | null }> {
  const { rows } = await client.query<{ shard_id: string; watermark_ts: Date; open_shards: string[] }>(
    `SELECT shard_id, watermark_ts, open_shards FROM ${qualified(schema, WATERMARKS_TABLE)}`,
  );
  const stored: StoredShardWatermark[] = rows.map((r) => ({ shardId: r.shard_id, ts: r.watermark_ts, openShards: r.open_shards }));
  const watermark = warehouseWatermark(stored);
  return watermark ? { watermarkTs: watermark.toISOString(), watermarkAgeMs: Math.max(0, now - watermark.getTime()) } : { watermarkTs: null, watermarkAgeMs: null };
}

export interface FailureRecord {
  manifestKey: string;
  attempts: number;
  parked: boolean;
}

/** Counts one more failed attempt (outside the failed transaction); parks the manifest after maxAttempts. */
export async function recordFailure(client: WarehouseClient, schema: string, manifestKey: string, batchId: string | null, error: string, policy: RetryPolicy): Promise<FailureRecord> {
  const { rows } = await client.query<{ attempts: number; parked: boolean }>(
    `INSERT INTO ${qualified(schema, FAILURES_TABLE)} AS f (manifest_key, batch_id, error, attempts, next_attempt_at, parked)
     VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4::double precision / 1000), 1 >= $5)
     ON CONFLICT (manifest_key) DO UPDATE SET
       batch_id = coalesce(excluded.batch_id, f.batch_id),
       error = excluded.error,
       attempts = f.attempts + 1,
       last_failed_at = now(),
       parked = f.attempts + 1 >= $5,
       next_attempt_at = CASE WHEN f.attempts + 1 >= $5 THEN NULL
         ELSE now() + make_interval(secs => $4::double precision * power(2, f.attempts) / 1000) END
     RETURNING attempts, parked`,
    [manifestKey, batchId, error.slice(0, 4000), policy.retryBaseMs, policy.maxAttempts],
  );
  return { manifestKey, attempts: rows[0].attempts, parked: rows[0].parked };
}

/**
 * The manifests to load this run, in key (= time) order:
 *  1. keys listed after the safe point (newest loaded manifest minus the lookback window) that are
 *     neither in the ledger nor waiting/parked in load_failures;
 *  2. failed manifests whose backoff has expired (they may sort before the safe point).
 */
export async function findPendingManifests(
  client: WarehouseClient,
  schema: string,
  store: ObjectStore,
  options: { prefix: string; lookbackMs: number; limit: number; onListed?: (manifestKey: string) => void },
): Promise<string[]> {
  const startAfter = await safeListingPoint(client, schema, options.lookbackMs, options.prefix);
  const listed: string[] = [];
  for await (const object of store.list(options.prefix, startAfter ? { startAfter } : {})) {
    if (isManifestKey(object.key)) listed.push(object.key);
  }
  if (options.onListed) for (const key of listed) options.onListed(key);
  const known = new Set<string>();
  const due: string[] = [];
  if (listed.length > 0) {
    const { rows } = await client.query<{ manifest_key: string }>(
      `SELECT manifest_key FROM ${qualified(schema, LEDGER_TABLE)} WHERE manifest_key = ANY($1::text[])
       UNION ALL SELECT manifest_key FROM ${qualified(schema, FAILURES_TABLE)} WHERE manifest_key = ANY($1::text[])`,
      [listed],
    );
    for (const row of rows) known.add(row.manifest_key);
  }
  const { rows: retries } = await client.query<{ manifest_key: string }>(
    `SELECT manifest_key FROM ${qualified(schema, FAILURES_TABLE)} WHERE NOT parked AND next_attempt_at <= now() AND starts_with(manifest_key, $1)`,
    [options.prefix],
  );
  for (const row of retries) due.push(row.manifest_key);
  const pending = new Set([...listed.filter((key) => !known.has(key)), ...due]);
  return [...pending].sort().slice(0, options.limit);
}

/**
 * The listing restarts after the newest ledger key whose manifest was created at least
 * `lookbackMs` before the newest loaded manifest (undefined: list from the beginning). Key order
 * is time order, so any manifest created inside the window sorts after it. Only ledger rows under
 * the listed prefix count: a replay's manifests (another prefix, sharing the ledger) must not move
 * the live listing's start point.
 */
async function safeListingPoint(client: WarehouseClient, schema: string, lookbackMs: number, prefix = ''): Promise<string | undefined> {
  const ledger = qualified(schema, LEDGER_TABLE);
  const { rows } = await client.query<{ manifest_key: string }>(
    `SELECT manifest_key FROM ${ledger}
     WHERE starts_with(manifest_key, $2)
       AND manifest_created_at <= (SELECT max(manifest_created_at) FROM ${ledger} WHERE starts_with(manifest_key, $2)) - make_interval(secs => $1::double precision / 1000)
     ORDER BY manifest_created_at DESC, manifest_key DESC LIMIT 1`,
    [lookbackMs, prefix],
  );
  return rows[0]?.manifest_key;
}

/**
 * A drain's later polls (the loader holds the lock, so nobody else loads this schema meanwhile):
 * the manifest keys written since `sinceMs` that this run has not listed before, in key order. No
 * ledger lookup: every key this run listed is in `known` (loaded, failed or skipped), and a key
 * it never listed cannot be in the ledger. One LIST call per poll instead of a LIST and 3 queries.
 */
export async function listNewManifests(store: ObjectStore, prefix: string, sinceMs: number, known: ReadonlySet<string>, limit: number): Promise<string[]> {
  const since = new Date(sinceMs).toISOString();
  // Sorts just before every key written at `since` or later (keys: <prefix>date=<day>/<compact time>-<batchId>.json).
  const startAfter = `${prefix}date=${since.slice(0, 10)}/${since.replace(/[-:.]/g, '')}`;
  const fresh: string[] = [];
  for await (const object of store.list(prefix, { startAfter })) {
    if (isManifestKey(object.key) && !known.has(object.key)) fresh.push(object.key);
  }
  return fresh.sort().slice(0, limit);
}
