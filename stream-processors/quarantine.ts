import { createHash } from 'node:crypto';
import type { ObjectStore } from '../bucket/object-store.js';

/**
 * Poison input never blocks a shard: it is written to `<prefix>quarantine/date=YYYY-MM-DD/<hash>.json`
 * and the rest of the batch proceeds. The key is the hash of the raw record, so quarantining the same
 * record again (a retried batch) overwrites the same object.
 */
export type QuarantineReason = 'malformed-json' | 'invalid-event' | 'unknown-table' | 'invalid-value';

export interface QuarantineEntry {
  reason: QuarantineReason;
  error: string;
  /** The raw record: UTF-8 text, or base64 when the bytes are not valid UTF-8 (see recordEncoding). */
  record: string;
  recordEncoding: 'utf8' | 'base64';
  shardId?: string;
  sequenceNumber?: string;
  eventId?: string;
}

export interface QuarantineInput {
  reason: QuarantineReason;
  error: string;
  record: Uint8Array | string;
  /** Date partition 'YYYY-MM-DD' (commit date when known, else arrival date). */
  date: string;
  shardId?: string;
  sequenceNumber?: string;
  eventId?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function quarantineEntryOf(input: QuarantineInput): QuarantineEntry {
  let record: string;
  let recordEncoding: QuarantineEntry['recordEncoding'] = 'utf8';
  if (typeof input.record === 'string') record = input.record;
  else {
    try {
      record = utf8.decode(input.record);
    } catch {
      record = Buffer.from(input.record).toString('base64');
      recordEncoding = 'base64';
    }
  }
  return {
    reason: input.reason,
    error: input.error,
    record,
    recordEncoding,
    ...(input.shardId !== undefined ? { shardId: input.shardId } : {}),
    ...(input.sequenceNumber !== undefined ? { sequenceNumber: input.sequenceNumber } : {}),
    ...(input.eventId !== undefined ? { eventId: input.eventId } : {}),
  };
}

export function quarantineKey(prefix: string, input: Pick<QuarantineInput, 'record' | 'date'>): string {
  const hash = createHash('sha256').update(input.record).digest('hex').slice(0, 32);
  return `${prefix}quarantine/date=${input.date}/${hash}.json`;
}

/** Writes one quarantine object; resolves to its key. */
export async function writeQuarantine(store: ObjectStore, prefix: string, input: QuarantineInput): Promise<string> {
  const key = quarantineKey(prefix, input);
  await store.put(key, JSON.stringify(quarantineEntryOf(input), null, 2) + '\n');
  return key;
}

/** UTC date of an epoch-ms instant, for quarantine partitions of records without a commit time. */
export function utcDateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
