import { z } from 'zod';
import { recordKind } from './change-event/record-kind.js';
import { parseJsonRecord } from './json-record.js';
import { isSourceTable, type SourceTable } from './source-tables.js';
import type { WarehouseTable } from './warehouse-model.js';

/**
 * The reconcile record: "at version (lsn, seq), the rows of `table` whose key lies in the range
 * (keyAfter, keyTo] are exactly `keys`" (null bounds are unbounded). It is how the pipeline learns
 * about rows that vanished without a delete event reaching the stream:
 *  - a re-read of the source (the snapshot after a lost replication slot, every snapshot in fact,
 *    and `resnapshot --table`) sends one per chunk of keys it read, at the snapshot's version;
 *  - a TRUNCATE sends one per truncated table with no keys and no bounds, at the truncate's place
 *    in its transaction (the table is empty at that point).
 * The loader gives every warehouse row of that table in the range whose latest version below
 * (lsn, seq) is live and whose key is not in `keys` a delete version at (lsn, seq): a `d` fact row
 * (event id `reconcile/<table>/<key>@<lsn>/<seq>`), a dimension row marked deleted (docs/event-contract.md).
 *
 * Cross-shard order: a key's earlier changes may sit on any shard, so the capture puts one copy on
 * every open shard (`shards` lists them), each only after every event before (lsn, seq) is durable.
 * The loader applies a reconcile once it has loaded the copy of every listed shard: by then each
 * shard's earlier changes are loaded, and the reconcile never races an older delete into a second
 * `d`. `shards: null` (a capture without a shard map, tests) applies on the first copy.
 *
 * Like a watermark, it is a stream record but not a change event: it starts with a `kind` member,
 * the archive keeps it. Replay does not sort it with the events: it applies the distinct reconciles in version order
 * once every archived event is loaded (loader/apply-reconciles.ts applyReconcilesInOrder), the ordered replay's
 * form of the cross-shard rule above (docs/capture-spec.md R4).
 */
export const RECONCILE_VERSION = 2 as const;

/**
 * Version 2 (07 Dec 2026) says that a range is in the key's own order (numbers as numbers).
 * Version 1 records are still read (archives keep them, replay applies them): those from a
 * snapshot read their chunks in the keys' TEXT order (the cursor sorted by the key cast to text),
 * so their ranges hold their keys only as text; version 1 resnapshot chunks were in key order.
 */
export type ReconcileRecordVersion = 1 | typeof RECONCILE_VERSION;

/** The order a record's range is in: see ReconcileRecordVersion. */
export function reconcileRangeOrder(record: Pick<ReconcileRecord, 'v' | 'reason'>): 'key' | 'text' {
  return record.v === 1 && record.reason === 'snapshot' ? 'text' : 'key';
}

export type ReconcileKey = number | string;

export interface ReconcileRecord {
  kind: 'reconcile';
  v: ReconcileRecordVersion;
  /** Deterministic: the same re-read or truncate gives the same id (`snapshot/<table>/<lsn>/<chunk>`, `truncate/<table>/<commitLsn>/<n>`). */
  id: string;
  table: SourceTable;
  /** The version of the statement "these are the rows": a snapshot's LSN, a truncate's commit LSN. */
  lsn: string;
  /** -1 (SNAPSHOT_SEQ) for a re-read; the truncate's position in its transaction. */
  seq: number;
  /** Commit time of the delete versions it creates (the snapshot's time, the truncate's commit time). */
  commitTs: string;
  reason: 'snapshot' | 'truncate' | 'resnapshot';
  /** Exclusive lower bound of the key range, null: unbounded. */
  keyAfter: ReconcileKey | null;
  /** Inclusive upper bound, null: unbounded. */
  keyTo: ReconcileKey | null;
  /** Every key of the range that exists at (lsn, seq). */
  keys: ReconcileKey[];
  /** The shards that get a copy; null: apply on the first copy. */
  shards: string[] | null;
}

/** A copy as the processor reads it: which shard it was read from. */
export interface ShardReconcile {
  shardId: string;
  record: ReconcileRecord;
}

/** How a manifest carries a reconcile: once, with the shards whose copy the batch read. */
export interface ManifestReconcile {
  copyShards: string[];
  record: ReconcileRecord;
}

/** The copies of a batch grouped by reconcile id, in first-seen order (a manifest stays small: one key list per reconcile). */
export function groupReconcileCopies(copies: readonly ShardReconcile[]): ManifestReconcile[] {
  const byId = new Map<string, ManifestReconcile>();
  for (const { shardId, record } of copies) {
    const entry = byId.get(record.id);
    if (!entry) byId.set(record.id, { copyShards: [shardId], record });
    else if (!entry.copyShards.includes(shardId)) entry.copyShards.push(shardId);
  }
  return [...byId.values()];
}

/** Partition keys of reconcile copies start with this; no change event's key (`<table>:<pk>`) can. */
export const RECONCILE_PARTITION_KEY_PREFIX = '__totesys_reconcile__/';

const PREFIX = '{"kind":"reconcile"';
const PREFIX_BYTES = Buffer.from(PREFIX);

/** The warehouse table whose rows are keyed by a source table's primary key; null: none (department is only joined into dim_staff). */
export const RECONCILED_TABLE: Readonly<Record<SourceTable, { table: WarehouseTable; key: string } | null>> = Object.freeze({
  address: { table: 'dim_location', key: 'location_id' },
  counterparty: { table: 'dim_counterparty', key: 'counterparty_id' },
  currency: { table: 'dim_currency', key: 'currency_id' },
  department: null,
  design: { table: 'dim_design', key: 'design_id' },
  payment_type: { table: 'dim_payment_type', key: 'payment_type_id' },
  staff: { table: 'dim_staff', key: 'staff_id' },
  purchase_order: { table: 'fact_purchase_order', key: 'purchase_order_id' },
  sales_order: { table: 'fact_sales_order', key: 'sales_order_id' },
  transaction: { table: 'dim_transaction', key: 'transaction_id' },
  payment: { table: 'fact_payment', key: 'payment_id' },
});

export function serializeReconcile(record: Omit<ReconcileRecord, 'kind' | 'v'>): string {
  // Key order is part of the format: `kind` first (isReconcileRecord reads only the prefix).
  const { id, table, lsn, seq, commitTs, reason, keyAfter, keyTo, keys, shards } = record;
  return JSON.stringify({ kind: 'reconcile', v: RECONCILE_VERSION, id, table, lsn, seq, commitTs, reason, keyAfter, keyTo, keys, shards });
}

/** Cheap check (a prefix compare, no parse): is this stream record / archive line a reconcile record? */
export function isReconcileRecord(data: Uint8Array | string): boolean {
  if (typeof data === 'string') return recordKind(data) === 'reconcile';
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data.length - i < PREFIX_BYTES.length) return false;
  for (let j = 0; j < PREFIX_BYTES.length; j++) if (data[i + j] !== PREFIX_BYTES[j]) return false;
  return true;
}

const key = z.union([z.number().int().safe(), z.string().min(1)]);
export const reconcileRecordSchema = z.object({
  kind: z.literal('reconcile'),
  v: z.union([z.literal(1), z.literal(RECONCILE_VERSION)]),
  id: z.string().min(1),
  table: z.string().refine(isSourceTable, 'not a captured table'),
  lsn: z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/, 'expected an LSN'),
  seq: z.number().int().min(-1),
  commitTs: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO-8601 instant'),
  reason: z.enum(['snapshot', 'truncate', 'resnapshot']),
  keyAfter: key.nullable(),
  keyTo: key.nullable(),
  keys: z.array(key),
  shards: z.array(z.string().min(1)).min(1).nullable(),
});

export class InvalidReconcileError extends Error {
  override readonly name = 'InvalidReconcileError';
  /** platform/errors.ts: quarantined, never retried. */
  readonly category = 'bad-input' as const;
  readonly retryable = false;
}

export function parseReconcile(data: Uint8Array | string): ReconcileRecord {
  return parseJsonRecord(data, reconcileRecordSchema, 'reconcile record', (message) => new InvalidReconcileError(message)) as ReconcileRecord;
}
