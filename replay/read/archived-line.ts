import {
  CHANGE_EVENT_VERSION,
  InvalidChangeEventError,
  eventSortKey,
  newCanonicalKey,
  parseSortKey,
  readCanonicalKey,
  recordKind,
  validateChangeEventFast,
  type ChangeEvent,
} from '../../contracts/change-event.js';
import { errorMessage } from '../../platform/errors.js';
import { isSourceTable } from '../../contracts/source-tables.js';
import { parseReconcile, type ReconcileRecord } from '../../contracts/reconcile.js';
import { DEFAULT_MAX_LINE_BYTES, forEachGzipLineBytes } from './gzip-lines.js';
import type { ArchiveIssue, ArchiveIssueKind, IssueLog } from '../replay-report.js';
import { FLAG_VALIDATED, type RunBuilder } from '../order/sorted-runs.js';

/**
 * One archived line: validation (with the issue that explains a bad one) and the scan of one
 * object into sorted runs. Runs on scan workers and, for small selections, on the main thread.
 *
 * Parse once: a line in the canonical spelling (what capture writes) gets its sort key from its
 * bytes (the codec's canonical-line reader) and goes into the runs unparsed; it is parsed and
 * validated once, after the merge, and reported there with the same file and line. Any other line
 * is parsed and validated here, and after the merge only parsed again (FLAG_VALIDATED). Records
 * that are not change events (the codec's recordKind) never go into the runs: a watermark is
 * counted and skipped, a reconcile record is parsed and handed back (ObjectScan.reconciles) for
 * replay to apply in version order; neither is reported as a bad line.
 */
export type IssueSink = Pick<IssueLog, 'add'>;

/** `origin` of a run entry: the object's index in the listing and the 1-based line number. */
const LINES_PER_OBJECT = 2 ** 32;
const lineOrigin = (objectIndex: number, line: number): number => objectIndex * LINES_PER_OBJECT + line;
export const originOf = (origin: number): { objectIndex: number; line: number } => ({ objectIndex: Math.floor(origin / LINES_PER_OBJECT), line: origin % LINES_PER_OBJECT });

export interface ParsedLine {
  event: ChangeEvent;
  sortKey: string;
}

/** parseArchivedLine's answer for a record that is not a change event: skipped, not an issue. */
const NOT_A_CHANGE = 'not-a-change';

/**
 * Validates one archived line. Returns the event and its sort key, NOT_A_CHANGE for another kind of
 * stream record, or records an issue (and returns null). The checks run in the order a reader
 * needs to explain the problem: JSON, version, table, contract (the codec's fast path, the strict
 * check only when it fails), version (sortable).
 */
function parseArchivedLine(text: string, file: string, line: number, issues: IssueSink): ParsedLine | typeof NOT_A_CHANGE | null {
  if (recordKind(text) !== 'change') return NOT_A_CHANGE;
  return checkArchivedLine(text, file, line, issues, true) as ParsedLine | null;
}

/**
 * parseArchivedLine for a canonical line, whose sort key the scan already read from its text
 * (the codec's readCanonicalKey, tested to equal the parsed event's): the same checks and issues, minus the key.
 */
export function readCanonicalEvent(text: string, file: string, line: number, issues: IssueSink): ChangeEvent | null {
  return checkArchivedLine(text, file, line, issues, false) as ChangeEvent | null;
}

function checkArchivedLine(text: string, file: string, line: number, issues: IssueSink, withKey: boolean): ParsedLine | ChangeEvent | null {
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
    const event = validateChangeEventFast(value);
    if (!withKey) return event; // canonical: the id has no control character, the key is known
    if (/[\t\n\r]/.test(event.id)) throw new InvalidChangeEventError('event id contains a control character', event.id);
    return { event, sortKey: eventSortKey(event) };
  } catch (error) {
    issues.add({ kind: 'invalid-event', file, line, eventId, message: errorMessage(error) });
    return null;
  }
}

export interface ObjectScan {
  /** Lines (blank ones included) and uncompressed bytes read. */
  lines: number;
  bytes: number;
  /** Entries added to the runs (valid or deferred lines). */
  added: number;
  /** Records that are not change events (watermarks, reconcile records), skipped by the sort. */
  otherRecords: number;
  /** The object's reconcile records (every copy), for replay to apply in version order (replay/order/archived-reconciles.ts). */
  reconciles: ReconcileRecord[];
  /** This object's first issues (at most `maxIssuesPerFile`), in line order. */
  issues: ArchiveIssue[];
  /** Issues past the cap, counted by kind and not kept (one object can hold millions of bad lines). */
  droppedIssues: Partial<Record<ArchiveIssueKind, number>>;
}

/** Bounds of one object's scan (config.bounds; README "Input bounds"). */
export interface ArchiveReadLimits {
  maxLineBytes: number;
  maxIssuesPerFile: number;
}

export const DEFAULT_ARCHIVE_READ_LIMITS: Readonly<ArchiveReadLimits> = Object.freeze({ maxLineBytes: DEFAULT_MAX_LINE_BYTES, maxIssuesPerFile: 1000 });

/** Reads one archived object into `runs`. Never throws on bad input (only on a failed run write). */
export async function scanObject(body: Uint8Array, file: string, objectIndex: number, runs: RunBuilder, limits: ArchiveReadLimits = DEFAULT_ARCHIVE_READ_LIMITS): Promise<ObjectScan> {
  const issues: ArchiveIssue[] = [];
  const droppedIssues: Partial<Record<ArchiveIssueKind, number>> = {};
  // Kept up to the cap, counted past it: a 116 KB gzip of 40M bad lines would otherwise be 40M issue objects.
  const record = (issue: ArchiveIssue) => {
    if (issues.length < limits.maxIssuesPerFile) issues.push(issue);
    else droppedIssues[issue.kind] = (droppedIssues[issue.kind] ?? 0) + 1;
  };
  const sink: IssueSink = { add: record };
  const key = newCanonicalKey();
  let added = 0;
  let otherRecords = 0;
  const reconciles: ReconcileRecord[] = [];
  /** A reconcile record is kept aside (a bad one is reported); true when the line was one. */
  const addReconcile = (text: string, line: number): boolean => {
    if (recordKind(text) !== 'reconcile') return false;
    try {
      reconciles.push(parseReconcile(text));
      otherRecords++;
    } catch (error) {
      record({ kind: 'invalid-event', file, line, message: errorMessage(error) });
    }
    return true;
  };
  const addParsed = (parsed: ParsedLine | typeof NOT_A_CHANGE | null, src: Buffer, start: number, end: number, line: number) => {
    if (parsed === null) return;
    if (parsed === NOT_A_CHANGE) {
      otherRecords++;
      return;
    }
    const parts = parseSortKey(parsed.sortKey);
    runs.addStringId(parts, parts.id, src, start, end, lineOrigin(objectIndex, line), FLAG_VALIDATED);
    added++;
  };
  const result = await forEachGzipLineBytes(body, (data, start, end, line) => {
    if (start === end) return; // blank line: nothing to replay
    if (readCanonicalKey(data, start, end, key)) {
      const origin = lineOrigin(objectIndex, line);
      if (key.idAscii) runs.addAsciiId(key, data, key.idStart, key.idEnd, start, end, origin, 0);
      else runs.addStringId(key, data.toString('utf8', key.idStart, key.idEnd), data, start, end, origin, 0);
      added++;
      return;
    }
    const text = data.toString('utf8', start, end);
    if (addReconcile(text, line)) return;
    addParsed(parseArchivedLine(text, file, line, sink), data, start, end, line);
  }, { maxLineBytes: limits.maxLineBytes });
  const tail = result.tail?.toString('utf8') ?? null;
  if (tail !== null && tail.trim().length > 0) {
    // A last line without its delimiter: complete JSON is accepted (Firehose without the
    // AppendDelimiterToRecord processor), anything else was cut off.
    const line = result.lines + 1;
    let complete = true;
    try {
      JSON.parse(tail);
    } catch {
      complete = false;
    }
    if (complete) {
      if (!addReconcile(tail, line)) addParsed(parseArchivedLine(tail, file, line, sink), result.tail!, 0, result.tail!.length, line);
    } else {
      record({ kind: 'truncated-line', file, line, message: `line cut off after ${tail.length} characters` });
    }
  }
  if (result.lineError) {
    // The rest of the object is not read: a per-file failure with its position, never an OOM.
    record({ kind: 'line-too-long', file, line: result.lineError.line, message: `${result.lineError.message}; the rest of the object was not read (${result.lines} lines before it were)` });
  }
  if (result.gzipError) {
    record({ kind: 'corrupt-gzip', file, line: result.lines + 1, message: `${result.gzipError.message}; ${result.lines} complete lines before it were read` });
  }
  return { lines: result.lines, bytes: result.bytes, added, otherRecords, reconciles, issues, droppedIssues };
}
