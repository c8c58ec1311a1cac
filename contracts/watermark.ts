import { z } from 'zod';
import { recordKind } from './change-event/record-kind.js';

/**
 * The watermark: "every change committed before `ts` has been published to this shard, before this
 * record". Capture publishes one to EVERY open shard after it sees its own heartbeat message in the
 * replication stream and every event before that message is durable in the stream (so on each shard
 * the watermark follows every change it covers). The processor carries the newest watermark of
 * each shard into its manifest; the loader records it per shard in the same transaction as the
 * manifest's rows. The warehouse watermark is the minimum over the open shards
 * (warehouseWatermark below): the warehouse holds every change committed before it.
 *
 * A watermark record is a stream record but not a change event: archives keep it (it is a raw
 * stream record), replay and the processor recognise it with isWatermarkRecord and never treat it as
 * a change. `ts` is the capture host's clock read BEFORE the heartbeat was written to the WAL, so a
 * transaction that committed (in real time) before `ts` is before the heartbeat in the WAL.
 */
const WATERMARK_VERSION = 1 as const;

export interface WatermarkRecord {
  kind: 'watermark';
  v: typeof WATERMARK_VERSION;
  /** The heartbeat's time, ISO-8601 UTC. */
  ts: string;
  /** WAL position of the heartbeat message. */
  lsn: string;
  /** The stream's open shards when the watermark was published (the set the minimum is taken over). */
  openShards: string[];
}

/** A shard's newest watermark as a manifest carries it (contracts/manifest.ts) and the ledger keeps it. */
export interface ShardWatermark {
  shardId: string;
  ts: string;
  lsn: string;
  openShards: string[];
}

/** Partition keys of watermark records start with this; no change event's key (`<table>:<pk>`) can. */
export const WATERMARK_PARTITION_KEY_PREFIX = '__totesys_watermark__/';

/** The serialized form always starts with this, so a record is classified without parsing it. */
const PREFIX = '{"kind":"watermark"';
const PREFIX_BYTES = Buffer.from(PREFIX);

export function serializeWatermark(watermark: Omit<WatermarkRecord, 'kind' | 'v'>): string {
  // Key order is part of the format: `kind` first (isWatermarkRecord reads only the prefix).
  return JSON.stringify({ kind: 'watermark', v: WATERMARK_VERSION, ts: watermark.ts, lsn: watermark.lsn, openShards: watermark.openShards });
}

/** Cheap check (a prefix compare, no parse): is this stream record / archive line a watermark? */
export function isWatermarkRecord(data: Uint8Array | string): boolean {
  if (typeof data === 'string') return recordKind(data) === 'watermark'; // the codec's one definition
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data.length - i < PREFIX_BYTES.length) return false;
  for (let j = 0; j < PREFIX_BYTES.length; j++) if (data[i + j] !== PREFIX_BYTES[j]) return false;
  return true;
}

const isoInstant = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO-8601 instant');
const watermarkSchema = z.object({
  kind: z.literal('watermark'),
  v: z.literal(WATERMARK_VERSION),
  ts: isoInstant,
  lsn: z.string().min(1),
  openShards: z.array(z.string().min(1)).min(1),
});

export class InvalidWatermarkError extends Error {
  override readonly name = 'InvalidWatermarkError';
}

export function parseWatermark(data: Uint8Array | string): WatermarkRecord {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidWatermarkError(`malformed watermark JSON: ${(error as Error).message}`);
  }
  const parsed = watermarkSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidWatermarkError(`invalid watermark: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data as WatermarkRecord;
}

/** One row of the loader's per-shard watermark table. */
export interface StoredShardWatermark {
  shardId: string;
  ts: Date;
  openShards: readonly string[];
}

/**
 * The warehouse watermark from the per-shard rows: the minimum over the shards that the newest
 * watermark says are open. Closed shards (after a reshard) stop getting watermarks and must not pin
 * it. When an open shard has no watermark yet (a new shard, or the first minutes of a pipeline),
 * the minimum over every row is taken instead: older, never optimistic. null: no watermark yet.
 */
export function warehouseWatermark(rows: readonly StoredShardWatermark[]): Date | null {
  if (rows.length === 0) return null;
  const newest = rows.reduce((a, b) => (b.ts.getTime() > a.ts.getTime() ? b : a));
  const byShard = new Map(rows.map((r) => [r.shardId, r]));
  const open = newest.openShards.map((id) => byShard.get(id));
  const considered = open.every((r) => r !== undefined) ? (open as StoredShardWatermark[]) : rows;
  return considered.reduce((a, b) => (b.ts.getTime() < a.ts.getTime() ? b : a)).ts;
}
