import type { FactSpec } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { ident, qualified } from './warehouse-ddl.js';
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
  const reads = new Map<unknown, WarehouseRow>();
  for (const row of rows) {
    if (row.op !== 'r') continue;
    const id = row[spec.sourceId];
    if (reads.has(id)) return null; // two reads of one source row: the second has one before it
    reads.set(id, row);
  }
  if (reads.size === 0) return null;
  for (const row of rows) {
    const read = reads.get(row[spec.sourceId]);
    if (read && row !== read && !isAfter(row, read)) return null;
  }
  return { sourceIds: [...reads.keys()] as number[] };
}

/** (source_lsn, source_seq) of `a` strictly after `b`'s. */
function isAfter(a: WarehouseRow, b: WarehouseRow): boolean {
  const [al, bl] = [a.source_lsn as bigint, b.source_lsn as bigint];
  return al > bl || (al === bl && (a.source_seq as number) > (b.source_seq as number));
}

/**
 * The operator's switch: `ALTER ROLE <loader> SET totesys_cdc.snapshot_reads = 'staged'` sends
 * every snapshot read the staging way, as before this path existed (the differential test uses it).
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
    [sourceIds, SNAPSHOT_READS_SETTING],
  );
  return rows[0]?.staged === false && rows[0].found === false;
}
