import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MANIFEST_VERSION, type BatchManifest, type ManifestFile } from '../contracts/manifest.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES } from '../contracts/warehouse-model.js';
import { decodeWarehouseParquet } from '../parquet/warehouse-parquet.js';
import { DEFAULT_PARQUET_READ_LIMITS, maxRowsForFile, type ParquetReadLimits } from '../parquet/parquet-bounds.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import type { WarehouseTable } from '../contracts/warehouse-model.js';
import { ObjectNotFoundError, type ObjectStore } from '../bucket/object-store.js';
import { reconcileRecordSchema, type ReconcileKey } from '../contracts/reconcile.js';
import { isKeyList } from '../contracts/reconcile-fast-path.js';
import { ManifestFileCorruptError, ManifestFileMissingError, ManifestInvalidError } from './loader-errors.js';

/** Reads manifests and their files from the processed bucket, refusing anything that does not match. */

/** A manifest is a few KB (one entry per table of its batch): anything far larger is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_MANIFEST_FILES = 1000;

/**
 * A reconcile record as a manifest carries it: its keys (a snapshot chunk's 5,000) checked by one
 * loop instead of one zod union per key, the same rule (safe integers or non-empty strings): the
 * union was most of a first sync's manifest parsing, about 0.15 s of the loader's main thread.
 */
const manifestReconcileRecord = reconcileRecordSchema.extend({
  keys: z.custom<ReconcileKey[]>(isKeyList, 'expected an array of keys (safe integers or non-empty strings)'),
});

const isoInstant = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO-8601 instant');
const manifestSchema = z.object({
  v: z.literal(MANIFEST_VERSION),
  batchId: z.string().min(1),
  createdAt: isoInstant,
  eventCount: z.number().int().nonnegative(),
  firstEventId: z.string(),
  lastEventId: z.string(),
  minCommitTs: isoInstant,
  maxCommitTs: isoInstant,
  files: z.array(
    z.object({
      table: z.enum(WAREHOUSE_TABLES),
      key: z.string().min(1),
      rows: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ).max(MAX_MANIFEST_FILES),
  watermarks: z.array(z.object({ shardId: z.string().min(1), ts: isoInstant, lsn: z.string().min(1), openShards: z.array(z.string().min(1).regex(/^[^,]+$/, 'no commas')).min(1) })).max(1024).optional(),
  reconciles: z.array(z.object({ copyShards: z.array(z.string().min(1)).min(1), record: manifestReconcileRecord })).optional(),
});

export function parseManifest(manifestKey: string, bytes: Uint8Array): BatchManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw new ManifestInvalidError(manifestKey, `${bytes.byteLength} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ManifestInvalidError(manifestKey, 'not JSON', { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestInvalidError(manifestKey, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data as BatchManifest;
}

export async function readManifest(store: ObjectStore, manifestKey: string): Promise<BatchManifest> {
  try {
    return parseManifest(manifestKey, await store.get(manifestKey));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new ManifestInvalidError(manifestKey, 'manifest object disappeared', { cause: error });
    throw error;
  }
}

/** The Parquet bounds with the configured row cap (config.bounds.maxParquetRows). */
export function parquetLimitsFor(bounds: { maxParquetRows: number }): ParquetReadLimits {
  return { ...DEFAULT_PARQUET_READ_LIMITS, maxRows: bounds.maxParquetRows };
}

/**
 * Fetches one file, checks size and sha256 against the manifest, decodes it within `limits` and
 * checks the row count. The manifest's own claims are bounded first (a hostile manifest naming a
 * huge row count fails here, before any byte is fetched), then the file's footer (parquet-bounds.ts).
 */
export async function readManifestFile(store: ObjectStore, manifestKey: string, file: ManifestFile, limits: ParquetReadLimits = DEFAULT_PARQUET_READ_LIMITS): Promise<WarehouseRow[]> {
  if (file.bytes > limits.maxFileBytes) throw new ManifestFileCorruptError(manifestKey, file.key, `manifest says ${file.bytes} bytes, more than the ${limits.maxFileBytes} a file may have`);
  const allowedRows = maxRowsForFile(file.bytes, limits);
  if (file.rows > allowedRows) {
    throw new ManifestFileCorruptError(manifestKey, file.key, `manifest says ${file.rows} rows in ${file.bytes} bytes; at most ${allowedRows} allowed (raise TOTESYS_MAX_PARQUET_ROWS for larger files)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await store.get(file.key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new ManifestFileMissingError(manifestKey, file.key, { cause: error });
    throw error;
  }
  if (bytes.byteLength !== file.bytes) throw new ManifestFileCorruptError(manifestKey, file.key, `size ${bytes.byteLength} bytes, manifest says ${file.bytes}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== file.sha256) throw new ManifestFileCorruptError(manifestKey, file.key, `sha256 ${sha256}, manifest says ${file.sha256}`);
  let rows: WarehouseRow[];
  try {
    rows = await decodeWarehouseParquet(file.table, bytes, limits);
  } catch (error) {
    throw new ManifestFileCorruptError(manifestKey, file.key, `not a ${file.table} Parquet file: ${(error as Error).message}`, { cause: error });
  }
  if (rows.length !== file.rows) throw new ManifestFileCorruptError(manifestKey, file.key, `${rows.length} rows, manifest says ${file.rows}`);
  const unstorable = findUnstorableText(file.table, rows);
  if (unstorable) throw new ManifestFileCorruptError(manifestKey, file.key, `row ${unstorable.row + 1}: ${file.table}.${unstorable.column} contains a NUL character, which Postgres text cannot store`);
  return rows;
}

/**
 * The first text value Postgres would refuse (U+0000). The processor quarantines such events one by
 * one (source-values.ts); a file that still carries one was not written by it, and naming the row
 * and column here beats COPY's message about the whole file.
 */
function findUnstorableText(table: WarehouseTable, rows: readonly WarehouseRow[]): { row: number; column: string } | null {
  const textColumns = WAREHOUSE_MODEL[table].columns.filter((column) => column.type === 'text').map((column) => column.name);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (const column of textColumns) {
      const value = row[column];
      if (typeof value === 'string' && value.includes('\0')) return { row: r, column };
    }
  }
  return null;
}
