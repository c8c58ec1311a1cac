import { parseChangeEvent, type ChangeEvent } from '../contracts/change-event.js';
import { isBadInput } from '../platform/errors.js';
import { IGNORED_SOURCE_TABLES, isSourceTable } from '../contracts/source-tables.js';
import { isWatermarkRecord, parseWatermark, type ShardWatermark } from '../contracts/watermark.js';
import { isReconcileRecord, type ShardReconcile } from '../contracts/reconcile.js';
import { parseReconcileFast } from '../contracts/reconcile-fast-path.js';
import type { QuarantineInput } from './quarantine.js';
import { utcDateOf } from './quarantine.js';

/** One stream record as both consumers see it (local log record or decoded Kinesis record). */
export interface StreamRecordInput {
  shardId: string;
  sequenceNumber: string;
  data: Uint8Array;
  arrivalMs: number;
}

export interface DecodedRecords {
  /** Valid events, in record order (and line order inside an NDJSON record). */
  events: ChangeEvent[];
  /** Where each event came from, for quarantine entries written later by processEvents. */
  origins: Map<string, { shardId: string; sequenceNumber: string }>;
  /** Poison input to write to quarantine: it must never block the shard. */
  poison: QuarantineInput[];
  /** The last watermark record (contracts/watermark.ts) of each shard: not events, carried into the manifest. */
  watermarks: Map<string, ShardWatermark>;
  /** Reconcile records (contracts/reconcile.ts), in record order: not events, carried into the manifest. */
  reconciles: ShardReconcile[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Origin = { shardId: string; sequenceNumber: string };

/**
 * decodeRecords with the change events parsed as they are iterated, one at a time, so each parsed
 * event can be garbage as soon as its rows are built: parsing a whole batch first kept every parsed
 * event alive through the batch, and copying them from scavenge to scavenge was most of the
 * processor's garbage-collection time. Watermarks and reconcile records are decoded at once.
 */
export interface LazyDecodedRecords {
  /** Valid events, in record order (and line order inside an NDJSON record), parsed as iterated: iterate once. */
  events: Iterable<ChangeEvent>;
  /** Where an event iterated so far came from, for quarantine entries written later by processEvents. */
  originOf(event: ChangeEvent): Origin | undefined;
  /** Poison input in record order, complete once `events` has been iterated to its end. */
  poison(): QuarantineInput[];
  /** Valid events iterated so far. */
  eventCount(): number;
  watermarks: Map<string, ShardWatermark>;
  reconciles: ShardReconcile[];
}

/**
 * Decodes and validates records. A record normally holds one event; NDJSON records (several events)
 * are split by line. Bad bytes, bad JSON, contract violations and tables that are never captured
 * (`_prisma_migrations`) become quarantine entries. Only a bad-input error (platform/errors.ts) is
 * quarantined: anything else is a bug in the decoder and fails the whole batch, to be retried.
 */
export function decodeRecords(records: readonly StreamRecordInput[]): DecodedRecords {
  const lazy = decodeRecordsLazily(records);
  const events = [...lazy.events];
  const origins = new Map<string, Origin>();
  for (const event of events) origins.set(event.id, lazy.originOf(event)!);
  return { events, origins, poison: lazy.poison(), watermarks: lazy.watermarks, reconciles: lazy.reconciles };
}

/** decodeRecords, with the change events parsed while they are iterated (LazyDecodedRecords). */
export function decodeRecordsLazily(records: readonly StreamRecordInput[]): LazyDecodedRecords {
  const watermarks = new Map<string, ShardWatermark>();
  const reconciles: ShardReconcile[] = [];
  /** Poison with its record's index: watermark and reconcile poison is found before the events'. */
  const poison: { at: number; entry: QuarantineInput }[] = [];
  const changeRecords: number[] = [];
  records.forEach((record, at) => {
    if (isWatermarkRecord(record.data)) {
      try {
        const { ts, lsn, openShards } = parseWatermark(record.data);
        watermarks.set(record.shardId, { shardId: record.shardId, ts, lsn, openShards });
      } catch (error) {
        poison.push({ at, entry: poisonOf(record, { reason: 'invalid-event', error: (error as Error).message, record: Buffer.from(record.data).toString('utf8') }) });
      }
    } else if (isReconcileRecord(record.data)) {
      try {
        reconciles.push({ shardId: record.shardId, record: parseReconcileFast(record.data) });
      } catch (error) {
        poison.push({ at, entry: poisonOf(record, { reason: 'invalid-event', error: (error as Error).message, record: Buffer.from(record.data).toString('utf8') }) });
      }
    } else {
      changeRecords.push(at);
    }
  });
  /**
   * Where the events came from, as their records' indexes (an origin object is built only when
   * asked for: quarantine). processEvents asks about the event it has just been given, so that one
   * is kept at hand; any other is looked up by id in a map built only then (the last record holding
   * an id wins, as it did when every event went into that map as it was parsed: hashing and storing
   * each id was a tenth of decoding).
   */
  const yieldedIds: string[] = [];
  const yieldedAt: number[] = [];
  let lastEvent: ChangeEvent | undefined;
  let lastAt = -1;
  const byId = new Map<string, number>();
  let indexed = 0;
  const recordIndexOf = (event: ChangeEvent): number | undefined => {
    if (event === lastEvent) return lastAt;
    for (; indexed < yieldedIds.length; indexed++) byId.set(yieldedIds[indexed]!, yieldedAt[indexed]!);
    return byId.get(event.id);
  };
  let count = 0;
  function* events(): Generator<ChangeEvent> {
    for (const at of changeRecords) {
      const record = records[at]!;
      let text: string;
      try {
        text = utf8.decode(record.data);
      } catch (error) {
        poison.push({ at, entry: poisonOf(record, { reason: 'malformed-json', error: `record is not UTF-8: ${(error as Error).message}`, record: record.data }) });
        continue;
      }
      // One event per record is the rule (capture writes them so): no split and no array for it.
      // (The decoded text's own search is the fast one: Buffer#indexOf on the bytes measured 5-10x slower.)
      const lines = !text.includes('\n') && text.trim() !== '' ? [text] : text.split('\n').filter((line) => line.trim() !== '');
      if (lines.length === 0) poison.push({ at, entry: poisonOf(record, { reason: 'malformed-json', error: 'empty record', record: text }) });
      for (const line of lines) {
        let event: ChangeEvent;
        try {
          event = parseChangeEvent(line);
        } catch (error) {
          if (!isBadInput(error)) throw error;
          poison.push({ at, entry: poisonOf(record, { reason: reasonOf(line), error: (error as Error).message, record: line }) });
          continue;
        }
        yieldedIds.push(event.id);
        yieldedAt.push(at);
        lastEvent = event;
        lastAt = at;
        count++;
        yield event;
      }
    }
  }
  return {
    events: events(),
    originOf: (event) => {
      const at = recordIndexOf(event);
      if (at === undefined) return undefined;
      const record = records[at]!;
      return { shardId: record.shardId, sequenceNumber: record.sequenceNumber };
    },
    // Stable: a record's own poison stays in line order.
    poison: () => poison.sort((a, b) => a.at - b.at).map((p) => p.entry),
    eventCount: () => count,
    watermarks,
    reconciles,
  };
}

type PoisonEntry = Omit<QuarantineInput, 'date' | 'shardId' | 'sequenceNumber'>;

/** Only poison needs the record's date (formatting it for every record was a tenth of the decoding time). */
function poisonOf(record: StreamRecordInput, entry: PoisonEntry): QuarantineInput {
  return { ...entry, date: utcDateOf(record.arrivalMs), shardId: record.shardId, sequenceNumber: record.sequenceNumber };
}

function reasonOf(line: string): QuarantineInput['reason'] {
  try {
    const table = (JSON.parse(line) as { table?: unknown }).table;
    if (typeof table === 'string' && (!isSourceTable(table) || (IGNORED_SOURCE_TABLES as readonly string[]).includes(table))) return 'unknown-table';
  } catch {
    return 'malformed-json';
  }
  return 'invalid-event';
}
