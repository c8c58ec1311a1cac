import { dimensionVersionColumns, type DimensionSpec, type FactSpec } from '../contracts/warehouse-model.js';
import { ident, qualified } from './warehouse-ddl.js';

/**
 * The warehouse's version rules for dimensions and facts, in one place so that every load path (the per-manifest
 * loader, load-sql.ts, and the bulk load of replay --rebuild, bulk-load-sql.ts) applies the same
 * ones, whatever moves the rows into Postgres.
 *
 * Rule F1 (one version per captured change): a fact row is keyed by its event id; a repeated
 * delivery of an event adds nothing (ON CONFLICT (event_id) DO NOTHING).
 *
 * Rule F2 (snapshot reads add a version only for a change): an `r` row (a snapshot read: the
 * initial snapshot, a snapshot redone after a crash, a re-snapshot) adds nothing when its content
 * equals the version before it (the source row's latest version with a lower (source_lsn,
 * source_seq)), that version is no delete, and the row already has a first version (a `c` or an
 * `r`) before it. Otherwise it adds exactly one version. So a source row holds exactly the versions
 * its source committed plus one for the snapshot that first saw it, however many times a snapshot
 * was redone or bridged (issue 14), and a re-read of a row that changed while the capture was blind
 * adds one version, an unchanged one none. The first-version condition is for a row the abandoned
 * snapshot never reached but the bridge updated: its first read (by the new snapshot) equals the
 * bridged update and still counts as the snapshot that first saw it, as it would have had the
 * first snapshot not been abandoned.
 *
 * "Content" is every model column but the fact metadata (event id, op, LSN, position, commit time).
 * F2 looks at the version just before in version order, and for any earlier `c`/`r`, whether those
 * were themselves kept or not: a dropped `r` row equals (and is no delete like) the version before
 * it, and has an earlier `c`/`r` itself (the earliest one is always kept), so the answer is the same
 * as with the kept versions only. That makes the result independent
 * of how the rows were split into manifests or loads, as long as each source row's versions are
 * loaded in version order (the stream keeps a row's changes in order; replay sorts by version).
 */
const FACT_METADATA_COLUMNS: readonly string[] = ['event_id', 'op', 'source_lsn', 'source_seq', 'commit_ts'];

/** The columns whose values are a fact version's content (F2 compares these). */
function factContentColumns(spec: FactSpec): string[] {
  return spec.columns.map((c) => c.name).filter((name) => !FACT_METADATA_COLUMNS.includes(name));
}

const rowOf = (alias: string, columns: readonly string[]) => `ROW(${columns.map((c) => `${alias}.${ident(c)}`).join(', ')})`;

/**
 * F1 + F2 for rows staged in `staged` (a relation with the fact's columns) going into the fact
 * table: INSERT ... SELECT of every staged row that F2 keeps, ON CONFLICT (event_id) DO NOTHING.
 * The version before a staged `r` row is the later of the staged row before it (a window over the
 * staged rows of the source rows that have an `r` in the batch: a batch can hold several versions
 * of one source row) and the table's latest version below it (one probe of the
 * `<fact>_versions_idx` index per `r` row).
 */
export function insertFactVersionsSql(schema: string, spec: FactSpec, staged: string): string {
  const target = qualified(schema, spec.name);
  const columns = spec.columns.map((c) => ident(c.name));
  const id = ident(spec.sourceId);
  const content = factContentColumns(spec);
  // Rows other than `r` go in as they are; only the source rows with an `r` in the batch pay for
  // the window (its sort) and the probes, so a batch of streamed changes costs what it did before F2.
  return `INSERT INTO ${target} (${columns.join(', ')})
SELECT ${columns.join(', ')} FROM ${staged} WHERE op <> 'r'
UNION ALL
SELECT ${columns.map((c) => `s.${c}`).join(', ')} FROM (
  SELECT x.*,
    lag(x.op) OVER w AS staged_prev_op,
    lag(${rowOf('x', content)}) OVER w AS staged_prev_content,
    lag(x.source_lsn) OVER w AS staged_prev_lsn,
    lag(x.source_seq) OVER w AS staged_prev_seq,
    coalesce(bool_or(x.op IN ('c', 'r')) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS staged_begun
  FROM ${staged} x
  WHERE x.${id} IN (SELECT ${id} FROM ${staged} WHERE op = 'r')
  WINDOW w AS (PARTITION BY x.${id} ORDER BY x.source_lsn, x.source_seq)
) s
LEFT JOIN LATERAL (
  SELECT t.op, ${rowOf('t', content)} AS content, t.source_lsn, t.source_seq FROM ${target} t
  WHERE t.${id} = s.${id} AND (t.source_lsn, t.source_seq) < (s.source_lsn, s.source_seq)
  ORDER BY t.source_lsn DESC, t.source_seq DESC LIMIT 1
) loaded ON true
WHERE s.op = 'r' AND NOT (CASE
  WHEN s.staged_prev_lsn IS NOT NULL AND (loaded.source_lsn IS NULL OR (s.staged_prev_lsn, s.staged_prev_seq) > (loaded.source_lsn, loaded.source_seq))
    THEN s.staged_prev_op <> 'd' AND s.staged_prev_content IS NOT DISTINCT FROM ${rowOf('s', content)}
  WHEN loaded.source_lsn IS NOT NULL
    THEN loaded.op <> 'd' AND loaded.content IS NOT DISTINCT FROM ${rowOf('s', content)}
  ELSE false END
  AND (s.staged_begun OR ${hasFirstVersionBefore(target, id, 's')}))
ON CONFLICT (event_id) DO NOTHING`;
}

/**
 * F2 over a fact table that already holds every version (the bulk load copies rows straight in):
 * deletes each `r` row whose previous version (any row of the table, kept or not, see above) is no
 * delete and has the same content. Run once the table's indexes are built (a probe per `r` row).
 */
export function dropUnchangedSnapshotReadsSql(schema: string, spec: FactSpec): string {
  const target = qualified(schema, spec.name);
  const id = ident(spec.sourceId);
  const content = factContentColumns(spec);
  const recordId = ident(spec.recordId);
  return `DELETE FROM ${target} WHERE ${recordId} IN (
  SELECT r.${recordId} FROM ${target} r
  CROSS JOIN LATERAL (
    SELECT p.op, ${rowOf('p', content)} AS content FROM ${target} p
    WHERE p.${id} = r.${id} AND (p.source_lsn, p.source_seq) < (r.source_lsn, r.source_seq)
    ORDER BY p.source_lsn DESC, p.source_seq DESC LIMIT 1
  ) prev
  WHERE r.op = 'r' AND prev.op <> 'd' AND prev.content IS NOT DISTINCT FROM ${rowOf('r', content)} AND ${hasFirstVersionBefore(target, id, 'r')}
)`;
}

/** F2's first-version condition: the fact table holds a `c` or `r` of the row below `alias`'s version. */
function hasFirstVersionBefore(target: string, id: string, alias: string): string {
  return `EXISTS (SELECT 1 FROM ${target} b WHERE b.${id} = ${alias}.${id} AND b.op IN ('c', 'r') AND (b.source_lsn, b.source_seq) < (${alias}.source_lsn, ${alias}.source_seq))`;
}

/**
 * Rule D1 (dimensions keep their newest row): a dimension row replaces the stored one only when
 * its version is strictly higher, comparing the version columns in DIMENSION_VERSION_ORDER
 * (contracts/warehouse-model.ts): (version_lsn, version_seq) and, for the joined dimensions, then
 * (joined_version_lsn, joined_version_seq). Late, replayed or re-processed rows never overwrite
 * newer ones, and among rows built for one key the one from the newest own row and the newest
 * version of the row it joins wins (stream-processors/transform/row-metadata.ts says why).
 */
export function dimensionVersionTuple(spec: DimensionSpec, alias: string): string {
  return `(${dimensionVersionColumns(spec).map((c) => `${alias}.${ident(c)}`).join(', ')})`;
}

/** D1 as an ORDER BY list: newest version first. */
export function newestDimensionVersionFirst(spec: DimensionSpec): string {
  return dimensionVersionColumns(spec).map((c) => `${ident(c)} DESC`).join(', ');
}

/** The version an inferred member (key only, made for a fact that arrived first) gets: the lowest, zero. */
export function inferredMemberVersion(spec: DimensionSpec): { columns: string[]; values: string[] } {
  const columns = dimensionVersionColumns(spec);
  return { columns: columns.map(ident), values: columns.map(() => '0') };
}
