import type { ObjectInfo, ObjectStore } from '../bucket/object-store.js';
import { CHANGE_EVENT_VERSION, InvalidChangeEventError, validateChangeEvent, type ChangeEvent } from '../core/change-event.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { SOURCE_TABLES, isSourceTable, type SourceTable } from '../core/source-tables.js';
import { listStartAfter, parseChangeObjectKey, partitionInRange, tablePrefix } from './archive-layout.js';
import { isChangeEventFast, lineSortKey, versionSortKey } from './fast-event-check.js';
import { forEachGzipLine } from './gzip-lines.js';
import type { IssueLog } from './replay-report.js';
import { SortedRuns } from './sorted-runs.js';

/**
 * Reads the archive into commit order with bounded memory.
 *
 * Ordering: the archive's file order means nothing (partitioned by arrival, objects may overlap,
 * a crash re-archives records into new objects). Every valid event gets the sort key
 * `<commitLsn:16 hex><position:14 hex><id>`, i.e. its event version then its id, and an external
 * merge sort over runs of at most `maxRunBytes` yields all events in global commit order, which
 * implies per-key version order and puts duplicates (same id ⇒ same version) next to each other, so
 * dedupe by event id needs no memory beyond the previous key.
 *
 * Parse once: a line in the canonical spelling (what capture writes) gets its sort key from its
 * text (lineSortKey) and goes into the runs unparsed, with its origin (object index and line number);
 * it is parsed and validated once, after the merge (ordered-archive.ts), and reported there with
 * the same file and line. Any other line is parsed and validated here, as before.
 */
export interface ArchiveSelection {
  from?: Date;
  to?: Date;
  tables?: readonly string[];
}

export interface ScanProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  eventsRead: number;
}

export interface ScanStats {
  files: number;
  compressedBytes: number;
  uncompressedBytes: number;
  lines: number;
  /**
   * Valid events read, duplicates included. Lines whose validation waits for the merge count from
   * the scan on and are taken off if they fail it: exact once the merge has finished.
   */
  eventsRead: number;
}

/** `origin` of a run entry: the object's index in the listing and the 1-based line number. */
const LINES_PER_OBJECT = 2 ** 32;
export const lineOrigin = (objectIndex: number, line: number): number => objectIndex * LINES_PER_OBJECT + line;
export const originOf = (origin: number): { objectIndex: number; line: number } => ({ objectIndex: Math.floor(origin / LINES_PER_OBJECT), line: origin % LINES_PER_OBJECT });

export interface ListedObject extends ObjectInfo {
  table: SourceTable;
}

/** Objects of the selection, table by table, in key order. Keys outside the layout are reported. */
export async function listArchive(ingestion: ObjectStore, selection: ArchiveSelection, issues: IssueLog): Promise<ListedObject[]> {
  const tables = selection.tables ?? SOURCE_TABLES;
  for (const table of tables) {
    if (!isSourceTable(table)) throw new RangeError(`not a captured table: ${table} (one of ${SOURCE_TABLES.join(', ')})`);
  }
  const objects: ListedObject[] = [];
  for (const table of tables as readonly SourceTable[]) {
    const prefix = tablePrefix(table);
    for await (const object of ingestion.list(prefix, { startAfter: listStartAfter(table, selection.from) })) {
      const partition = parseChangeObjectKey(object.key);
      if (!partition || partition.table !== table) {
        issues.add({ kind: 'unexpected-key', file: object.key, message: 'key is not in the archive layout changes/table=<t>/date=YYYY-MM-DD/hour=HH/<name>' });
        continue;
      }
      if (selection.to && partition.hourStartMs >= selection.to.getTime()) break; // keys sort by date, hour
      if (!partitionInRange(partition, selection.from, selection.to)) continue;
      objects.push({ ...object, table });
    }
  }
  return objects;
}

/** The sort key of a valid event (see the module comment); throws when it has no version. */
export function eventSortKey(event: ChangeEvent): string {
  const key = versionSortKey(event);
  if (key === null) throw new InvalidChangeEventError(`event has no version (commitLsn ${event.source.commitLsn}, id ${event.id})`, event.id);
  return key;
}

export interface ParsedLine {
  event: ChangeEvent;
  sortKey: string;
}

/**
 * Validates one archived line. Returns the event and its sort key, or records an issue (and returns
 * null). The checks run in the order a reader needs to explain the problem: JSON, version, table,
 * contract (fast check first, the zod schema only when it fails), version (sortable).
 */
export function parseArchivedLine(text: string, file: string, line: number, issues: IssueLog): ParsedLine | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    issues.add({ kind: 'malformed-json', file, line, message: errorMessage(error) });
    return null;
  }
  const record = value as { v?: unknown; table?: unknown; id?: unknown } | null;
  const eventId = typeof record?.id === 'string' ? record.id : undefined;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    issues.add({ kind: 'invalid-event', file, line, message: 'line is not a JSON object' });
    return null;
  }
  if (record.v !== CHANGE_EVENT_VERSION) {
    issues.add({ kind: 'unsupported-version', file, line, eventId, message: `event version ${JSON.stringify(record.v)} is not supported (this replay reads v${CHANGE_EVENT_VERSION})` });
    return null;
  }
  if (typeof record.table !== 'string' || !isSourceTable(record.table)) {
    issues.add({ kind: 'unknown-table', file, line, eventId, message: `unknown table ${JSON.stringify(record.table)}` });
    return null;
  }
  try {
    const event = isChangeEventFast(value) ? value : validateChangeEvent(value);
    if (/[\t\n\r]/.test(event.id)) throw new InvalidChangeEventError('event id contains a control character', event.id);
    return { event, sortKey: eventSortKey(event) };
  } catch (error) {
    issues.add({ kind: 'invalid-event', file, line, eventId, message: errorMessage(error) });
    return null;
  }
}

export interface ScanOptions {
  ingestion: ObjectStore;
  objects: readonly ListedObject[];
  runs: SortedRuns;
  issues: IssueLog;
  logger: Logger;
  /** Objects fetched ahead of the one being parsed (S3 latency); default 4. */
  prefetch?: number;
  onProgress?: (progress: ScanProgress) => void;
}

/** Reads every listed object into `runs` (sort keys; validation of non-canonical lines). Never throws on bad input. */
export async function scanArchive(options: ScanOptions): Promise<ScanStats> {
  const { ingestion, objects, runs, issues } = options;
  const stats: ScanStats = { files: 0, compressedBytes: 0, uncompressedBytes: 0, lines: 0, eventsRead: 0 };
  const bytesTotal = objects.reduce((sum, o) => sum + o.size, 0);
  const prefetch = Math.max(1, options.prefetch ?? 4);
  const fetches: Promise<Uint8Array | Error>[] = [];
  const fetch = (i: number) => {
    const object = objects[i];
    if (object) fetches[i] = ingestion.get(object.key).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  };
  for (let i = 0; i < prefetch; i++) fetch(i);

  for (let i = 0; i < objects.length; i++) {
    const object = objects[i]!;
    const body = await fetches[i]!;
    delete fetches[i];
    fetch(i + prefetch);
    stats.files++;
    if (body instanceof Error) {
      issues.add({ kind: 'unreadable-object', file: object.key, message: body.message });
      continue;
    }
    stats.compressedBytes += body.byteLength;
    let added = 0;
    const add = (key: string, text: string, line: number) => {
      added++;
      return runs.add(key, text, lineOrigin(i, line));
    };
    const result = await forEachGzipLine(body, (lines, first) => {
      let spill: Promise<void> | undefined;
      for (let j = 0; j < lines.length; j++) {
        const text = lines[j]!;
        if (text.length === 0) continue; // blank line: nothing to replay
        const key = lineSortKey(text);
        if (key !== null) {
          spill = add(key, text, first + j) ?? spill;
          continue;
        }
        const parsed = parseArchivedLine(text, object.key, first + j, issues);
        if (parsed) spill = add(parsed.sortKey, text, first + j) ?? spill;
      }
      return spill; // pauses decompression until a full run is written
    });
    stats.lines += result.lines;
    stats.uncompressedBytes += result.bytes;
    if (result.tail !== null && result.tail.trim().length > 0) {
      // A last line without its delimiter: complete JSON is accepted (Firehose without the
      // AppendDelimiterToRecord processor), anything else was cut off.
      const line = result.lines + 1;
      let complete = true;
      try {
        JSON.parse(result.tail);
      } catch {
        complete = false;
      }
      if (complete) {
        const parsed = parseArchivedLine(result.tail, object.key, line, issues);
        if (parsed) add(parsed.sortKey, result.tail, line);
      } else {
        issues.add({ kind: 'truncated-line', file: object.key, line, message: `line cut off after ${result.tail.length} characters` });
      }
    }
    if (result.gzipError) {
      issues.add({ kind: 'corrupt-gzip', file: object.key, line: result.lines + 1, message: `${result.gzipError.message}; ${result.lines} complete lines before it were read` });
    }
    await runs.settled();
    stats.eventsRead += added;
    options.onProgress?.({ filesDone: stats.files, filesTotal: objects.length, bytesDone: stats.compressedBytes, bytesTotal, eventsRead: stats.eventsRead });
  }
  return stats;
}
