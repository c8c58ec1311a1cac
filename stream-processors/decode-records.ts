import { parseChangeEvent, type ChangeEvent } from '../contracts/change-event.js';
import { isBadInput } from '../platform/errors.js';
import { IGNORED_SOURCE_TABLES, isSourceTable } from '../contracts/source-tables.js';
import { isWatermarkRecord, parseWatermark, type ShardWatermark } from '../contracts/watermark.js';
import { isReconcileRecord, parseReconcile, type ShardReconcile } from '../contracts/reconcile.js';
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

/**
 * Decodes and validates records. A record normally holds one event; NDJSON records (several events)
 * are split by line. Bad bytes, bad JSON, contract violations and tables that are never captured
 * (`_prisma_migrations`) become quarantine entries. Only a bad-input error (platform/errors.ts) is
 * quarantined: anything else is a bug in the decoder and fails the whole batch, to be retried.
 */
export function decodeRecords(records: readonly StreamRecordInput[]): DecodedRecords {
  const out: DecodedRecords = { events: [], origins: new Map(), poison: [], watermarks: new Map(), reconciles: [] };
  for (const record of records) {
    const origin = { shardId: record.shardId, sequenceNumber: record.sequenceNumber };
    if (isWatermarkRecord(record.data)) {
      try {
        const { ts, lsn, openShards } = parseWatermark(record.data);
        out.watermarks.set(record.shardId, { shardId: record.shardId, ts, lsn, openShards });
      } catch (error) {
        addPoison(out, record, { reason: 'invalid-event', error: (error as Error).message, record: Buffer.from(record.data).toString('utf8') });
      }
      continue;
    }
    if (isReconcileRecord(record.data)) {
      try {
        out.reconciles.push({ shardId: record.shardId, record: parseReconcile(record.data) });
      } catch (error) {
        addPoison(out, record, { reason: 'invalid-event', error: (error as Error).message, record: Buffer.from(record.data).toString('utf8') });
      }
      continue;
    }
    let text: string;
    try {
      text = utf8.decode(record.data);
    } catch (error) {
      addPoison(out, record, { reason: 'malformed-json', error: `record is not UTF-8: ${(error as Error).message}`, record: record.data });
      continue;
    }
    // One event per record is the rule (capture writes them so): no split and no array for it.
    if (!text.includes('\n') && text.trim() !== '') {
      addLine(out, record, origin, text);
      continue;
    }
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    if (lines.length === 0) addPoison(out, record, { reason: 'malformed-json', error: 'empty record', record: text });
    for (const line of lines) addLine(out, record, origin, line);
  }
  return out;
}

function addLine(out: DecodedRecords, record: StreamRecordInput, origin: { shardId: string; sequenceNumber: string }, line: string): void {
  try {
    const event = parseChangeEvent(line);
    out.events.push(event);
    out.origins.set(event.id, origin);
  } catch (error) {
    if (!isBadInput(error)) throw error;
    addPoison(out, record, { reason: reasonOf(line), error: (error as Error).message, record: line });
  }
}

type PoisonEntry = Omit<QuarantineInput, 'date' | 'shardId' | 'sequenceNumber'>;

/** Only poison needs the record's date (formatting it for every record was a tenth of the decoding time). */
function addPoison(out: DecodedRecords, record: StreamRecordInput, entry: PoisonEntry): void {
  out.poison.push({ ...entry, date: utcDateOf(record.arrivalMs), shardId: record.shardId, sequenceNumber: record.sequenceNumber });
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
