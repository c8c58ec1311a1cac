import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MANIFEST_VERSION, type BatchManifest, type ManifestFile } from '../contracts/manifest.js';
import { WAREHOUSE_TABLES } from '../contracts/warehouse-model.js';
import { decodeWarehouseParquet } from '../parquet/warehouse-parquet.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { ObjectNotFoundError, type ObjectStore } from '../bucket/object-store.js';
import { ManifestFileCorruptError, ManifestFileMissingError, ManifestInvalidError } from './loader-errors.js';

/** Reads manifests and their files from the processed bucket, refusing anything that does not match. */
export const MANIFEST_PREFIX = 'manifests/';

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
  ),
  watermarks: z.array(z.object({ shardId: z.string().min(1), ts: isoInstant, lsn: z.string().min(1), openShards: z.array(z.string().min(1).regex(/^[^,]+$/, 'no commas')).min(1) })).optional(),
});

export function parseManifest(manifestKey: string, bytes: Uint8Array): BatchManifest {
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

/** Fetches one file, checks size and sha256 against the manifest, decodes it and checks the row count. */
export async function readManifestFile(store: ObjectStore, manifestKey: string, file: ManifestFile): Promise<WarehouseRow[]> {
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
    rows = await decodeWarehouseParquet(file.table, bytes);
  } catch (error) {
    throw new ManifestFileCorruptError(manifestKey, file.key, `not a ${file.table} Parquet file: ${(error as Error).message}`, { cause: error });
  }
  if (rows.length !== file.rows) throw new ManifestFileCorruptError(manifestKey, file.key, `${rows.length} rows, manifest says ${file.rows}`);
  return rows;
}
