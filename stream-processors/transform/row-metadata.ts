import { eventLsnOf, eventSeqOf, type ChangeEvent, type EventVersion, type Row } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { digitsAt, isCalendarDateAt, SourceValueError } from './source-values.js';

/**
 * The row image a fact or dimension is built from: `after` for c/u/r, `before` for d (a delete is a
 * version too: facts record it with op 'd', dimensions mark the row deleted).
 */
export function rowImageOf(event: ChangeEvent): Row {
  const image = event.op === 'd' ? event.before : event.after;
  if (!image) throw new SourceValueError(`${event.table}: ${event.op === 'd' ? 'delete without `before`' : 'change without `after`'}`, event.table, '*', event.id);
  return image;
}

/*
 * Commit times. Every event carries one and the events of a transaction come in a row with the same
 * text, so the last one read is remembered (only strings: a hit then means the same result).
 */
const NOTHING_READ = Symbol('no commit time read yet');
let lastCommitText: string | typeof NOTHING_READ = NOTHING_READ;
let lastCommitMs = NaN;
let lastCommitIso: string | undefined;

/** Date.parse(commitTs): epoch milliseconds, NaN when it is not an instant. */
export function commitMsOf(commitTs: unknown): number {
  if (commitTs === lastCommitText) return lastCommitMs;
  const ms = Date.parse(commitTs as string);
  if (typeof commitTs === 'string') {
    lastCommitText = commitTs;
    lastCommitMs = ms;
    lastCommitIso = undefined;
  }
  return ms;
}

const Z = 90;
const COLON = 58;
const DOT = 46;

/**
 * True for text exactly as Date#toISOString prints it ('2026-11-22T12:00:00.123Z', a real date of
 * years 0001-9999, a real time of day): Date.parse gives its instant and toISOString gives the text
 * back, so the text is its own normalized form. Capture writes commit times this way.
 */
export function isCanonicalUtcInstant(text: string): boolean {
  if (text.length !== 24 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON || text.charCodeAt(19) !== DOT || text.charCodeAt(23) !== Z) return false;
  const hours = digitsAt(text, 11, 2);
  const minutes = digitsAt(text, 14, 2);
  const seconds = digitsAt(text, 17, 2);
  return hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59 && seconds >= 0 && seconds <= 59 && digitsAt(text, 20, 3) >= 0 && isCalendarDateAt(text, 0);
}

/**
 * Adds the fact metadata columns to a fact row built from `event`: every fact row is one captured
 * version of a source row (event_id unique; op, source LSN and position, commit time).
 */
export function withFactMetadata(event: ChangeEvent, row: WarehouseRow): WarehouseRow {
  row.event_id = event.id;
  row.op = event.op;
  row.source_lsn = eventLsnOf(event);
  row.source_seq = eventSeqOf(event);
  row.commit_ts = commitTsOf(event);
  return row;
}

/** The fact column commit_ts: the event's commit time as ISO-8601 UTC (toISOString's form). */
export function commitTsOf(event: ChangeEvent): string {
  const commitTs = event.source.commitTs;
  const commitMs = commitMsOf(commitTs);
  if (Number.isNaN(commitMs)) throw new SourceValueError(`${event.table}: commitTs is not an instant: ${JSON.stringify(event.source.commitTs)}`, event.table, 'source.commitTs', event.id);
  if (commitTs === lastCommitText && lastCommitIso !== undefined) return lastCommitIso;
  const iso = typeof commitTs === 'string' && isCanonicalUtcInstant(commitTs) ? commitTs : new Date(commitMs).toISOString();
  if (commitTs === lastCommitText) lastCommitIso = iso;
  return iso;
}

/**
 * Version of a joined dimension row (dim_staff, dim_counterparty): its own source row's version
 * (version_lsn, version_seq), then the joined row's (joined_version_lsn, joined_version_seq; (0, 0)
 * when the partner is not known yet; a deleted partner keeps its tombstone's version). Compared in
 * that order (compareDimensionVersions), the row built from the newest own row and the newest
 * version of the row it references ranks highest of every row ever built for the key:
 *  - each side's versions only grow (the join state keeps the highest), so a row built later from
 *    the same own version has a partner version at least as high;
 *  - a newer own version outranks any older one, whatever its partner: a staff member who moved to
 *    a department with an older version than the one they left still gets the new department.
 * Writing one side then reading the other (event-rows.ts) means that row is built by whichever of
 * the last two writes came second. The former version (highest of both sides, `2·seq + bit`) let a
 * row with newer content tie with or lose to an older one (issue 14), and never reached the source's
 * join again until the next change.
 */
export function joinedDimensionVersion(own: EventVersion, partner: EventVersion | null, deleted: boolean): WarehouseRow {
  return { version_lsn: own.lsn, version_seq: own.seq, is_deleted: deleted, joined_version_lsn: partner?.lsn ?? 0n, joined_version_seq: partner?.seq ?? 0 };
}
