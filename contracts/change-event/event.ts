import { parseLsn } from '../lsn.js';
import type { SourceTable } from '../source-tables.js';

/**
 * The change event: the contract between capture, archive, processor and replay
 * (docs/event-contract.md). One JSON object per row change; NDJSON when several share a file or
 * record. This file says what an event is (its types, ids, partition key and version order); the
 * codec around it writes (writer.ts), checks (strict-parse.ts, fast-path.ts) and reads the sort
 * key of (sort-key.ts, canonical-line.ts) its JSON text.
 *
 * Values keep their Postgres meaning: numerics are decimal strings (never floats), `timestamp`
 * values are ISO text without zone (`2022-11-03T14:20:49.962`), booleans, ints, text, null.
 */
export const CHANGE_EVENT_VERSION = 1 as const;

export type ChangeOp = 'c' | 'u' | 'd' | 'r';
export type RowValue = string | number | boolean | null;
export type Row = Record<string, RowValue>;

export interface ChangeSource {
  /** LSN of this change's WAL record (for snapshot rows: the snapshot's consistent point). */
  lsn: string;
  /** LSN of the commit of the change's transaction (for snapshot rows: the snapshot's LSN). */
  commitLsn: string;
  xid: number | null;
  /** Commit time, ISO-8601 UTC with milliseconds. */
  commitTs: string;
  snapshot: boolean;
}

export interface ChangeEvent {
  v: typeof CHANGE_EVENT_VERSION;
  /** Unique, deterministic idempotency key: `<commitLsn>/<n>` or `snapshot/<table>/<pk>@<lsn>`. */
  id: string;
  op: ChangeOp;
  table: SourceTable;
  key: Row;
  before: Row | null;
  after: Row | null;
  source: ChangeSource;
}

export class InvalidChangeEventError extends Error {
  readonly retryable = false;
  constructor(
    message: string,
    readonly eventId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InvalidChangeEventError';
  }
}

/** Partition key `<table>:<pk>`: every change of one row lands on one shard, in order. */
export function partitionKeyOf(event: Pick<ChangeEvent, 'table' | 'key'>): string {
  const values = Object.values(event.key);
  return `${event.table}:${values.length === 1 ? String(values[0]) : values.map(String).join(',')}`;
}

export function streamEventId(commitLsn: string, indexInTransaction: number): string {
  return `${commitLsn}/${indexInTransaction}`;
}

export function snapshotEventId(table: SourceTable, pk: RowValue, snapshotLsn: string): string {
  return `snapshot/${table}/${String(pk)}@${snapshotLsn}`;
}

/**
 * Total order of changes to one row: commit LSN, then position inside the transaction. Snapshot
 * rows sort at the snapshot's LSN with position -1: a streamed transaction may commit exactly AT
 * the consistent point (its changes are not in the snapshot), and its position 0 must still sort
 * after the snapshot row (seen in the capture kill -9 test; with equal versions the warehouse's
 * version guard would keep the older snapshot row of a dimension).
 */
/** Position of snapshot rows: before every streamed change at the same LSN. */
export const SNAPSHOT_SEQ = -1;

export interface EventVersion {
  lsn: bigint;
  seq: number;
}

export function eventVersion(event: Pick<ChangeEvent, 'id' | 'source'>): EventVersion {
  let lsn: bigint;
  try {
    lsn = parseLsn(event.source.commitLsn);
  } catch (cause) {
    throw new InvalidChangeEventError(`not an LSN: ${event.source.commitLsn}`, event.id, { cause });
  }
  if (event.source.snapshot) return { lsn, seq: SNAPSHOT_SEQ };
  const slash = event.id.lastIndexOf('/');
  const seq = Number(event.id.slice(slash + 1));
  if (!Number.isSafeInteger(seq)) throw new InvalidChangeEventError(`event id without a position: ${event.id}`, event.id);
  return { lsn, seq };
}

export function compareVersion(a: EventVersion, b: EventVersion): number {
  return a.lsn < b.lsn ? -1 : a.lsn > b.lsn ? 1 : a.seq - b.seq;
}

/*
 * The two halves of eventVersion, for per-event hot paths (the stream processor builds one or more
 * rows per event). Calling eventLsnOf then eventSeqOf gives exactly eventVersion's values and
 * throws exactly its errors, in the same order, without allocating the version object.
 */

/**
 * One-entry memo of the last commit LSN text that parsed: the events of one transaction come in a
 * row and share their commit LSN, and parsing it (a regex and two BigInts) per event was a visible
 * share of processing. Only successfully parsed text is remembered, so a hit means the same result.
 */
const NOTHING_PARSED = Symbol('nothing parsed yet');
let lastCommitLsnText: string | typeof NOTHING_PARSED = NOTHING_PARSED;
let lastCommitLsn: bigint = 0n;

/** eventVersion(event).lsn. */
export function eventLsnOf(event: Pick<ChangeEvent, 'id' | 'source'>): bigint {
  const text = event.source.commitLsn;
  if (text === lastCommitLsnText) return lastCommitLsn;
  let lsn: bigint;
  try {
    lsn = parseLsn(text);
  } catch (cause) {
    throw new InvalidChangeEventError(`not an LSN: ${event.source.commitLsn}`, event.id, { cause });
  }
  if (typeof text === 'string') {
    lastCommitLsnText = text;
    lastCommitLsn = lsn;
  }
  return lsn;
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;
/** Up to 15 decimal digits always fit a safe integer, so no Number.isSafeInteger check is needed. */
const MAX_FAST_SEQ_DIGITS = 15;

/** eventVersion(event).seq: SNAPSHOT_SEQ for snapshot rows, else the id's position after the last '/'. */
export function eventSeqOf(event: Pick<ChangeEvent, 'id' | 'source'>): number {
  if (event.source.snapshot) return SNAPSHOT_SEQ;
  const slash = event.id.lastIndexOf('/');
  const id = event.id;
  // Plain digits (the only form capture writes) are summed directly; anything else goes through
  // Number() as eventVersion does, so odd forms ('', '0x1f', ' 7', '1e3') keep their old meaning.
  const digits = id.length - slash - 1;
  if (digits > 0 && digits <= MAX_FAST_SEQ_DIGITS) {
    let seq = 0;
    let i = slash + 1;
    for (; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c < DIGIT_0 || c > DIGIT_9) break;
      seq = seq * 10 + (c - DIGIT_0);
    }
    if (i === id.length) return seq;
  }
  const seq = Number(id.slice(slash + 1));
  if (!Number.isSafeInteger(seq)) throw new InvalidChangeEventError(`event id without a position: ${event.id}`, event.id);
  return seq;
}
