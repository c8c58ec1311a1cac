import { compareDimensionVersions, type DimensionSpec, type FactSpec } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { arrayParameter } from './array-parameter.js';
import { fitsSpanBitSet, SpanBitSet } from './distinct-keys.js';
import { ident, qualified, sqlType } from './warehouse-ddl.js';
import type { WarehouseClient } from './warehouse-pool.js';

type Client = Pick<WarehouseClient, 'query'>;

/**
 * Snapshot reads that are their source row's first version: the case of a first sync, where every
 * fact file is the snapshot's `r` rows of source rows the warehouse has never seen.
 *
 * Version rule F2 (version-rules.ts) drops an `r` row only when a version of its source row comes
 * before it (in the same rows or already in the table). With none, F2 keeps the row, so it goes in
 * like any change: a COPY straight into the fact table (F1, the repeated event id, is the table's
 * UNIQUE (event_id) as for streamed changes). The staging path's INSERT ... SELECT (a window over
 * the staged rows, an index probe per `r` row, ON CONFLICT per row) is then pure cost: it was most
 * of a first sync's warehouse time (docs/performance.md, round three).
 *
 * Two checks, both exact, and the staging path whenever either fails:
 *  1. in memory (firstVersionReads): each `r` row is the only `r` of its source row in `rows` and
 *     every other row of that source row has a strictly higher version;
 *  2. against the table (noVersionsOf), in the load's transaction, right before the COPY: the
 *     table holds no row of those source rows.
 * Like the staging path's probe (its snapshot is taken as its INSERT starts), the check sees the
 * versions committed before it: that no other writer adds one meanwhile is the loader lock's work
 * (run-loader.ts; replay and the schema swap take it too), for both paths alike. A check after the
 * COPY as well (count the rows of those source rows) was measured: about 15% of the COPY's time,
 * spent on heap visits of the rows just written, for a writer the lock already excludes.
 */
export interface FirstVersionReads {
  /** The source ids of the `r` rows (distinct). */
  sourceIds: number[];
}

/** Check 1: null when some `r` row may have a version before it among `rows` (or there is no `r` row). */
export function firstVersionReads(spec: FactSpec, rows: readonly WarehouseRow[]): FirstVersionReads | null {
  const onlyReads = distinctIntegerReads(spec, rows);
  if (onlyReads) return onlyReads;
  const reads = new Map<unknown, WarehouseRow>();
  let changes = false;
  for (const row of rows) {
    if (row.op !== 'r') {
      changes = true;
      continue;
    }
    const id = row[spec.sourceId];
    if (reads.has(id)) return null; // two reads of one source row: the second has one before it
    reads.set(id, row);
  }
  if (reads.size === 0) return null;
  // Only reads (a snapshot's file), each of its own source row: none has a version before it here.
  if (!changes) return { sourceIds: [...reads.keys()] as number[] };
  for (const row of rows) {
    const read = reads.get(row[spec.sourceId]);
    if (read && row !== read && !isAfter(row, read)) return null;
  }
  return { sourceIds: [...reads.keys()] as number[] };
}

/**
 * The common case without a Map: a snapshot's file holds only reads of integer ids from a few
 * chunks (interleaved by shard, so not in order, but close together): distinct ids are checked
 * with a bit per id of their span (distinct-keys.ts SpanBitSet). Null when the rows are not all
 * that, or an id repeats (firstVersionReads then checks them the general way).
 */
function distinctIntegerReads(spec: FactSpec, rows: readonly WarehouseRow[]): FirstVersionReads | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const id = row[spec.sourceId];
    if (row.op !== 'r' || typeof id !== 'number' || !Number.isSafeInteger(id)) return null;
    if (id < min) min = id;
    if (id > max) max = id;
  }
  if (!fitsSpanBitSet(min, max, rows.length)) return null;
  const seen = new SpanBitSet(min, max);
  const sourceIds = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const id = rows[i]![spec.sourceId] as number;
    if (!seen.add(id)) return null;
    sourceIds[i] = id;
  }
  return { sourceIds };
}

/** (source_lsn, source_seq) of `a` strictly after `b`'s. */
function isAfter(a: WarehouseRow, b: WarehouseRow): boolean {
  const [al, bl] = [a.source_lsn as bigint, b.source_lsn as bigint];
  return al > bl || (al === bl && (a.source_seq as number) > (b.source_seq as number));
}

/**
 * The operator's switch: `ALTER ROLE <loader> SET totesys_cdc.snapshot_reads = 'staged'` sends
 * every snapshot read, and every dimension file, the staging way, as before these paths existed
 * (the differential tests use it).
 */
export const SNAPSHOT_READS_SETTING = 'totesys_cdc.snapshot_reads';

/**
 * Check 2, before the COPY: the table holds no version of these source rows (one probe of
 * `<fact>_versions_idx` per id), and the switch above is not set.
 */
export async function noVersionsOf(client: Client, schema: string, spec: FactSpec, sourceIds: readonly number[]): Promise<boolean> {
  const { rows } = await client.query<{ staged: boolean; found: boolean }>(
    `SELECT coalesce(current_setting($2, true), '') = 'staged' AS staged,
       EXISTS (SELECT 1 FROM ${qualified(schema, spec.name)} WHERE ${ident(spec.sourceId)} = ANY($1::int[])) AS found`,
    [arrayParameter(sourceIds), SNAPSHOT_READS_SETTING],
  );
  return rows[0]?.staged === false && rows[0].found === false;
}

/**
 * Dimension rows whose keys the dimension does not hold yet: the case of a first sync again, where
 * dim_transaction alone brings 158k new keys at scale 10. Rule D1 (version-rules.ts) then keeps,
 * per key, the highest version among the rows, and the merge (mergeDimensionSql: a staging COPY, a
 * sort, an INSERT ... ON CONFLICT per row) would only insert those: one COPY straight into the
 * dimension does the same at about a third of the database's time (docs/performance-loader.md).
 *
 * Taken when the file has at least FIRST_DIMENSION_VERSIONS_MIN_ROWS rows and the table holds none
 * of its keys (noDimensionRowsOf, in the load's transaction, right before the COPY). The COPY runs
 * in a savepoint: a key written meanwhile by another session (the loader lock keeps other loaders
 * out, not every writer) fails it on the primary key, and the file goes the merge way after all.
 * Smaller files (a steady stream's few changed rows, mostly of keys the table holds) go the merge
 * way without the extra probe.
 */
export const FIRST_DIMENSION_VERSIONS_MIN_ROWS = 100;

/**
 * D1 in memory: per key the row with the highest version (the first of equal ones; dim_date rows
 * all tie, and are a function of the date), in the order the keys first appear; `rows` itself
 * when no key repeats.
 */
export function newestPerKey(spec: DimensionSpec, rows: readonly WarehouseRow[]): readonly WarehouseRow[] {
  const byKey = new Map<unknown, number>();
  const kept: WarehouseRow[] = [];
  for (const row of rows) {
    const key = row[spec.key];
    const at = byKey.get(key);
    if (at === undefined) {
      byKey.set(key, kept.length);
      kept.push(row);
    } else if (compareDimensionVersions(row, kept[at]!) > 0) {
      kept[at] = row;
    }
  }
  // No key repeated: every row was kept, in order. The same array then, whose COPY the reader
  // may have encoded already (load-manifest.ts prepareAhead): a snapshot's keys are distinct.
  return kept.length === rows.length ? rows : kept;
}

/** Whether the dimension holds none of `keys` (one probe of its primary key), and the switch above is not set. */
export async function noDimensionRowsOf(client: Client, schema: string, spec: DimensionSpec, keys: readonly unknown[]): Promise<boolean> {
  const keyType = sqlType(spec.columns.find((c) => c.name === spec.key)!.type);
  const { rows } = await client.query<{ staged: boolean; found: boolean }>(
    `SELECT coalesce(current_setting($2, true), '') = 'staged' AS staged,
       EXISTS (SELECT 1 FROM ${qualified(schema, spec.name)} WHERE ${ident(spec.key)} = ANY($1::${keyType}[])) AS found`,
    [arrayParameter(keys), SNAPSHOT_READS_SETTING],
  );
  return rows[0]?.staged === false && rows[0].found === false;
}
