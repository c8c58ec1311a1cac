import { createHash } from 'node:crypto';
import type { WarehouseTable } from './warehouse-model.js';

/**
 * Object keys of a processed batch in the processed bucket (processor writes, loader lists and reads):
 *   <prefix><table>/date=YYYY-MM-DD/<batchId>.parquet
 *   <prefix>manifests/date=YYYY-MM-DD/<YYYYMMDDTHHMMSSmmmZ>-<batchId>.json
 * Parquet `date` is the UTC date of the batch's latest commit. Manifest keys carry the time the
 * manifest was WRITTEN, so listing in key order is write order even when one shard lags behind
 * another by hours (a key by commit time would sort a lagging batch before ones already loaded
 * and the loader's listing would never reach it); the loader dedupes by batchId.
 */
export const MANIFEST_PREFIX = 'manifests/';

/** The batch's content identity: hash of its sorted, distinct event ids (`eventIds` is not changed). */
export function batchIdOfDistinct(eventIds: readonly string[]): string {
  const sorted = eventIds.slice().sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 32);
}

export function commitDateOf(commitTs: string): string {
  return new Date(Date.parse(commitTs)).toISOString().slice(0, 10);
}

/** '2026-11-22T12:00:00.123Z' → '20261122T120000123Z' (fixed width, sorts like the instant). */
function compactTimestamp(instant: string): string {
  return new Date(Date.parse(instant)).toISOString().replace(/[-:.]/g, '');
}

export function parquetKey(prefix: string, table: WarehouseTable, maxCommitTs: string, batchId: string): string {
  return `${prefix}${table}/date=${commitDateOf(maxCommitTs)}/${batchId}.parquet`;
}

export function manifestKey(prefix: string, writtenAt: string, batchId: string): string {
  return `${prefix}${MANIFEST_PREFIX}date=${commitDateOf(writtenAt)}/${compactTimestamp(writtenAt)}-${batchId}.json`;
}

/** The write time in a manifest key (`…/20261207T101500123Z-<batchId>.json`), epoch ms; NaN when the key has another shape. */
export function manifestTimeOfKey(manifestKey: string): number {
  const match = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[^/]*\.json$/.exec(manifestKey);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s, ms] = match;
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
}

/**
 * True for a manifest under a listed manifest prefix. Anything else there (a stray object, a store's
 * temp file) is skipped; a `.json` that is not a valid manifest is still listed, so the loader
 * records it as failed instead of skipping it unseen.
 */
export function isManifestKey(key: string): boolean {
  return key.endsWith('.json');
}
