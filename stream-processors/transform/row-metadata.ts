import { compareVersion, eventLsnOf, eventSeqOf, type ChangeEvent, type EventVersion, type Row } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { digitsAt, isCalendarDateAt, SourceValueError } from './source-values.js';
import { BadInputError } from '../../platform/errors.js';

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

export function maxVersion(versions: readonly EventVersion[]): EventVersion {
  if (versions.length === 0) throw new RangeError('maxVersion needs at least one version');
  return versions.reduce((a, b) => (compareVersion(a, b) >= 0 ? a : b));
}

/**
 * Version of a joined dimension row (dim_staff, dim_counterparty): the highest (lsn, seq) of both
 * sides, with `version_seq = 2·seq + 1` when the join partner was known (even if deleted) and
 * `2·seq` when it was not. Without that bit, a row built before its partner arrived and the row
 * that completes it could carry the same version (the partner's change may have a lower LSN), and a
 * loader that keeps the highest version would keep the incomplete one. (lsn, 2·seq + bit) orders
 * exactly like (lsn, seq) and then "complete after incomplete".
 */
export function joinedDimensionVersion(own: EventVersion, partner: EventVersion | null, deleted: boolean): WarehouseRow {
  const highest = partner ? maxVersion([own, partner]) : own;
  const seq = highest.seq * 2 + (partner ? 1 : 0);
  if (seq > 2 ** 31 - 1) throw new BadInputError(`transaction position too large for a joined version: ${highest.seq}`, { context: { seq: highest.seq } });
  return { version_lsn: highest.lsn, version_seq: seq, is_deleted: deleted };
}
