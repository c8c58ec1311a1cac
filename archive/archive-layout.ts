import { createHash } from 'node:crypto';
import { isSourceTable, SOURCE_TABLES, type SourceTable } from '../contracts/source-tables.js';
import { ARCHIVE_CHANGES_PREFIX, ARCHIVE_ERRORS_PREFIX, FIREHOSE_FILE_EXTENSION, WATERMARK_ARCHIVE_PARTITION } from './firehose-settings.js';
import { RoutableTables, scanRoute } from './routing-scan.js';

/** A `table=` partition of the archive: a captured table, or the capture's watermark records. */
export type ArchivePartitionName = SourceTable | typeof WATERMARK_ARCHIVE_PARTITION;

/**
 * The archive layout (pure): Firehose-compatible keys and bodies.
 *
 *   changes/table=<table>/date=YYYY-MM-DD/hour=HH/totesys-cdc-1-<yyyy-MM-dd-HH-mm-ss>-<sha256/32>.json.gz
 *   errors/processing-failed/date=YYYY-MM-DD/totesys-cdc-1-<yyyy-MM-dd-HH-mm-ss>-<sha256/32>.json.gz
 *
 * Partitions are by table and by ARRIVAL hour (UTC), the time the stream accepted the record, as
 * Firehose's `!{timestamp:…}` does. A body is GZIP of "<exact record bytes>\n" per record.
 *
 * Object names are content-addressed: the timestamp is the first record's arrival (like Firehose's
 * `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` names, so keys sort roughly by arrival) and the
 * suffix is a SHA-256 of the uncompressed body. Invariants: an object is never overwritten with
 * different content (a different body has a different name); re-archiving identical content after
 * a crash writes the identical object (harmless). Re-archived records in a different grouping land
 * in new objects: duplicates across files, which replay removes by event id.
 */
const ARCHIVE_OBJECT_NAME_PREFIX = 'totesys-cdc-1-';
const ERROR_OUTPUT_TYPE = 'processing-failed';

const HOUR_MS = 3_600_000;

export interface ArchivePartition {
  table: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  /** HH (UTC). */
  hour: string;
  /** Epoch ms of the start of the partition's hour. */
  hourStartMs: number;
}

export function hourStartMs(epochMs: number): number {
  return Math.floor(epochMs / HOUR_MS) * HOUR_MS;
}

function isoParts(epochMs: number): { date: string; hour: string; stamp: string } {
  const iso = new Date(epochMs).toISOString(); // 2026-11-22T12:00:00.123Z
  const date = iso.slice(0, 10);
  const hour = iso.slice(11, 13);
  const stamp = `${date}-${hour}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`;
  return { date, hour, stamp };
}

/** An uncompressed body: one buffer, or its parts in order (hashed as if joined). */
export type ArchiveBody = Uint8Array | readonly Uint8Array[];

function contentName(firstArrivalMs: number, body: ArchiveBody): string {
  const hash = createHash('sha256');
  if (body instanceof Uint8Array) hash.update(body);
  else for (const part of body) hash.update(part);
  const digest = hash.digest('hex').slice(0, 32);
  return `${ARCHIVE_OBJECT_NAME_PREFIX}${isoParts(firstArrivalMs).stamp}-${digest}${FIREHOSE_FILE_EXTENSION}`;
}

/** `changes/table=<table>/` (every partition of one table). */
export function tablePrefix(table: ArchivePartitionName): string {
  return `${ARCHIVE_CHANGES_PREFIX}table=${table}/`;
}

/** `changes/table=<table>/date=YYYY-MM-DD/hour=HH/` for the hour containing `arrivalMs`. */
export function partitionPrefix(table: ArchivePartitionName, arrivalMs: number): string {
  const { date, hour } = isoParts(arrivalMs);
  return `${tablePrefix(table)}date=${date}/hour=${hour}/`;
}

/** Key of an archived change-event object; `body` is the uncompressed NDJSON. */
export function changeObjectKey(table: ArchivePartitionName, firstArrivalMs: number, body: ArchiveBody): string {
  return partitionPrefix(table, firstArrivalMs) + contentName(firstArrivalMs, body);
}

/** Key of an error-output object (records that are not routable change events). */
export function errorObjectKey(firstArrivalMs: number, body: ArchiveBody): string {
  const { date } = isoParts(firstArrivalMs);
  return `${ARCHIVE_ERRORS_PREFIX}${ERROR_OUTPUT_TYPE}/date=${date}/${contentName(firstArrivalMs, body)}`;
}

const CHANGE_KEY = /^changes\/table=([^/]+)\/date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/[^/]+$/;

/** Parses a change-object key; null for keys outside the layout (replay reports them). */
export function parseChangeObjectKey(key: string): ArchivePartition | null {
  const match = CHANGE_KEY.exec(key);
  if (!match) return null;
  const [, table, date, hour] = match as unknown as [string, string, string, string];
  const start = Date.parse(`${date}T${hour}:00:00.000Z`);
  if (!Number.isFinite(start)) return null;
  return { table, date, hour, hourStartMs: start };
}

/**
 * True when the partition's hour overlaps [from, to). Hour granularity: the archive is partitioned by
 * arrival hour, so a range selects whole hours (an event's commit time is not its arrival time).
 */
export function partitionInRange(partition: ArchivePartition, from?: Date, to?: Date): boolean {
  if (from && partition.hourStartMs + HOUR_MS <= from.getTime()) return false;
  if (to && partition.hourStartMs >= to.getTime()) return false;
  return true;
}

/**
 * The first key to list after for one table and a start time: every key of earlier hours sorts
 * before it, every key of the start hour or later sorts after it.
 */
export function listStartAfter(table: SourceTable, from?: Date): string | undefined {
  if (!from) return undefined;
  const { date, hour } = isoParts(hourStartMs(from.getTime()));
  return `${tablePrefix(table)}date=${date}/hour=${hour}/`;
}

export type RecordRoute = { kind: 'change'; table: ArchivePartitionName } | { kind: 'error'; errorCode: string; errorMessage: string };

/**
 * Where a stream record goes, by the rule Firehose's `{table: .table}` extraction applies: a JSON
 * object whose `table` is a captured table is archived as is, whatever else it contains (the archive
 * is the system of record; replay validates the full contract and reports, e.g., an unknown `v`).
 * Everything else goes to the error prefix. Unlike Firehose, an unknown table name is an error here
 * too, so a record can never choose an arbitrary key path.
 * The route of a well-formed record is read from its bytes (routing-scan.ts); anything else, and
 * every error route, comes from the parse (routeRecordByParse).
 */
export function routeRecord(data: Uint8Array): RecordRoute {
  const scanned = scanRoute(data, ROUTABLE_TABLES);
  if (scanned) return scanned.kind === 'watermark' ? WATERMARK_ROUTE : changeRoute(scanned.table as SourceTable);
  return routeRecordByParse(data);
}

/** Exactly the names isSourceTable accepts (the parse's check). */
const ROUTABLE_TABLES = new RoutableTables(SOURCE_TABLES.filter((name) => isSourceTable(name)));
const WATERMARK_ROUTE: RecordRoute = Object.freeze({ kind: 'change', table: WATERMARK_ARCHIVE_PARTITION });
/** One frozen route per table: no object per record. */
const CHANGE_ROUTES = new Map<SourceTable, RecordRoute>();
function changeRoute(table: SourceTable): RecordRoute {
  let route = CHANGE_ROUTES.get(table);
  if (!route) CHANGE_ROUTES.set(table, (route = Object.freeze({ kind: 'change', table })));
  return route;
}

/** routeRecord by parsing the record's JSON: the definition the byte scan is held to. */
export function routeRecordByParse(data: Uint8Array): RecordRoute {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (error) {
    return { kind: 'error', errorCode: 'Processor.MetadataExtraction.JsonParseFailed', errorMessage: (error as Error).message };
  }
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isObject && (value as { kind?: unknown }).kind === 'watermark') return { kind: 'change', table: WATERMARK_ARCHIVE_PARTITION };
  const table = isObject ? (value as { table?: unknown }).table : undefined;
  if (typeof table !== 'string') {
    return { kind: 'error', errorCode: 'DynamicPartitioning.MetadataExtractionFailed', errorMessage: 'record has no string `table`' };
  }
  if (!isSourceTable(table)) {
    return { kind: 'error', errorCode: 'DynamicPartitioning.UnknownTable', errorMessage: `not a captured table: ${table.slice(0, 100)}` };
  }
  return { kind: 'change', table };
}

export interface ErrorRecordSource {
  data: Uint8Array;
  arrivalMs: number;
  shardId: string;
  sequenceNumber: string;
}

/** One error-output line, modelled on Firehose's error documents (raw bytes kept as base64). */
export function errorRecordLine(record: ErrorRecordSource, route: Extract<RecordRoute, { kind: 'error' }>, nowMs: number): string {
  return JSON.stringify({
    attemptsMade: 1,
    arrivalTimestamp: record.arrivalMs,
    errorCode: route.errorCode,
    errorMessage: route.errorMessage,
    attemptEndingTimestamp: nowMs,
    rawData: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('base64'),
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
  });
}
