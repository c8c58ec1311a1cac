import { parseReconcile, RECONCILE_VERSION, type ReconcileKey, type ReconcileRecord } from './reconcile.js';
import { isSourceTable } from './source-tables.js';

/**
 * A hand-written check of the reconcile record (contracts/reconcile.ts `reconcileRecordSchema`) for
 * the stream processor's hot path: a snapshot sends one reconcile record per chunk of keys to every
 * shard (416 records holding 1.9M keys in a first sync of scale 10), and zod checking each key of
 * each copy was 0.35-0.6 s of the processor's CPU in that sync. Like the change event's fast path
 * (change-event/fast-path.ts), it is NO MORE permissive than the schema and accepts only values the
 * schema returns unchanged: exactly the schema's members, in its order (zod returns them in that
 * order and drops any other), so JSON.stringify of either result is the same text. When it says no,
 * parseReconcile decides (and words the error). Held to the schema by
 * test/unit/reconcile-fast-path.test.ts.
 */
const MEMBERS = ['kind', 'v', 'id', 'table', 'lsn', 'seq', 'commitTs', 'reason', 'keyAfter', 'keyTo', 'keys', 'shards'] as const;
const REASONS = new Set(['snapshot', 'truncate', 'resnapshot']);
/** The schema's LSN pattern. */
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;

/** zod's `z.union([z.number().int().safe(), z.string().min(1)])`: a reconcile key. */
function isKey(value: unknown): boolean {
  return typeof value === 'number' ? Number.isSafeInteger(value) : typeof value === 'string' && value.length > 0;
}

/** The schema's `keys`, checked by one loop (also the loader's manifest reader's check of them). */
export function isKeyList(value: unknown): value is ReconcileKey[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!isKey(value[i])) return false;
  return true;
}

function isShardList(value: unknown): boolean {
  if (value === null) return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  for (const shard of value) if (typeof shard !== 'string' || shard.length === 0) return false;
  return true;
}

/** Exactly the schema's members, in its order (none is an integer-like name, which for-in would list first). */
function hasMembersInOrder(value: object): boolean {
  let i = 0;
  for (const key in value) if (key !== MEMBERS[i++]) return false;
  return i === MEMBERS.length;
}

export function isReconcileRecordFast(value: unknown): value is ReconcileRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const r = value as Record<string, unknown>;
  if (r.kind !== 'reconcile' || (r.v !== 1 && r.v !== RECONCILE_VERSION)) return false;
  if (typeof r.id !== 'string' || r.id.length === 0) return false;
  if (typeof r.table !== 'string' || !isSourceTable(r.table)) return false;
  if (typeof r.lsn !== 'string' || !LSN.test(r.lsn)) return false;
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < -1) return false;
  if (typeof r.commitTs !== 'string' || Number.isNaN(Date.parse(r.commitTs))) return false;
  if (typeof r.reason !== 'string' || !REASONS.has(r.reason)) return false;
  if ((r.keyAfter !== null && !isKey(r.keyAfter)) || (r.keyTo !== null && !isKey(r.keyTo))) return false;
  if (!isKeyList(r.keys) || !isShardList(r.shards)) return false;
  return hasMembersInOrder(r);
}

/**
 * parseReconcile's outcome (the record, or its InvalidReconcileError), through the fast check. The
 * text is decoded as parseReconcile decodes it (UTF-8, malformed bytes replaced), without a copy.
 */
export function parseReconcileFast(data: Uint8Array | string): ReconcileRecord {
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseReconcile(text); // its error message
  }
  return isReconcileRecordFast(value) ? value : parseReconcile(text);
}
