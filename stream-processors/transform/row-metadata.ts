import { compareVersion, eventVersion, type ChangeEvent, type EventVersion, type Row } from '../../core/change-event.js';
import type { WarehouseRow } from '../../core/warehouse-row.js';
import { SourceValueError } from './source-values.js';

/**
 * The row image a fact or dimension is built from: `after` for c/u/r, `before` for d (a delete is a
 * version too: facts record it with op 'd', dimensions mark the row deleted).
 */
export function rowImageOf(event: ChangeEvent): Row {
  const image = event.op === 'd' ? event.before : event.after;
  if (!image) throw new SourceValueError(`${event.table}: ${event.op === 'd' ? 'delete without `before`' : 'change without `after`'}`, event.table, '*', event.id);
  return image;
}

/** Fact metadata columns: every fact row is one captured version of a source row. */
export function factMetadata(event: ChangeEvent): WarehouseRow {
  const version = eventVersion(event);
  const commitMs = Date.parse(event.source.commitTs);
  if (Number.isNaN(commitMs)) throw new SourceValueError(`${event.table}: commitTs is not an instant: ${JSON.stringify(event.source.commitTs)}`, event.table, 'source.commitTs', event.id);
  return {
    event_id: event.id,
    op: event.op,
    source_lsn: version.lsn,
    source_seq: version.seq,
    commit_ts: new Date(commitMs).toISOString(),
  };
}

/** Dimension version columns: the highest version of the source rows the dimension row was built from. */
export function dimensionVersion(versions: readonly EventVersion[], deleted: boolean): WarehouseRow {
  const highest = maxVersion(versions);
  return { version_lsn: highest.lsn, version_seq: highest.seq, is_deleted: deleted };
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
  if (seq > 2 ** 31 - 1) throw new RangeError(`transaction position too large for a joined version: ${highest.seq}`);
  return { version_lsn: highest.lsn, version_seq: seq, is_deleted: deleted };
}
