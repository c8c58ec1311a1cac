import { InvalidReconcileError, RECONCILED_TABLE, reconcileRangeOrder, type ReconcileKey, type ReconcileRecord } from '../contracts/reconcile.js';
import { WAREHOUSE_MODEL, type DimensionSpec, type FactSpec } from '../contracts/warehouse-model.js';
import { arrayParameter } from './array-parameter.js';
import { ident, qualified, sqlType } from './warehouse-ddl.js';
import { parseLsn } from '../contracts/lsn.js';

/**
 * The SQL of a reconcile (contracts/reconcile.ts): pure, every value a parameter. A reconcile at
 * version V = (lsn, seq) says which keys of a range exist at V. A warehouse row of that range whose
 * latest version BELOW V is live and whose key is not among them was deleted before V without a
 * delete event reaching us: it gets a delete version at V.
 *
 * Only versions below V are looked at, never later ones: the result does not depend on whether the
 * stream's changes after V were loaded before or after the reconcile (a key deleted while nobody
 * captured and inserted again later still gets its delete between the two). Applying it twice adds
 * nothing: a fact's delete version has a deterministic event id (`reconcile/<table>/<key>@<lsn>/<seq>`,
 * ON CONFLICT DO NOTHING), a dimension's is at V, which is not below V.
 */
export const RECONCILE_COPIES_TABLE = 'reconcile_copies';
export const RECONCILE_APPLIED_TABLE = 'reconcile_applied';

/** Migration 4: the copies seen per shard (a reconcile applies once every listed shard's copy is loaded) and the reconciles applied. */
export function reconcileTablesSql(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, RECONCILE_COPIES_TABLE)} (
  reconcile_id text COLLATE "C" NOT NULL,
  shard_id text COLLATE "C" NOT NULL,
  manifest_key text COLLATE "C" NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (reconcile_id, shard_id)
)`,
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, RECONCILE_APPLIED_TABLE)} (
  reconcile_id text COLLATE "C" PRIMARY KEY,
  source_table text NOT NULL,
  reason text NOT NULL,
  version_lsn bigint NOT NULL,
  version_seq integer NOT NULL,
  rows_deleted integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`,
  ];
}

/**
 * The order a reconcile's bounds compare keys in (contracts/reconcile.ts reconcileRangeOrder): the
 * key's own, or text for the chunks of version-1 snapshot records (compared in "C": digit strings
 * sort alike in every collation, so this is the order the old snapshot read them in). A snapshot
 * chunk's keys are exactly the rows it read in its range: one with a key outside its own range in
 * that order is refused (applying it would give live rows delete versions). A resnapshot's keys
 * may lie outside its range (it adds every key the stream changed while the chunk was read, from
 * anywhere in the table), which is harmless: only the rows in the range are looked at.
 */
export function reconcileKeyOrder(record: Pick<ReconcileRecord, 'id' | 'v' | 'reason' | 'keyAfter' | 'keyTo' | 'keys'>): 'key' | 'text' {
  const order = reconcileRangeOrder(record);
  if (record.reason !== 'snapshot') return order;
  const { keyAfter, keyTo, keys } = record;
  const compare = order === 'key' ? compareKeys : compareTexts;
  const outside = keys.find((k) => (keyAfter !== null && compare(k, keyAfter) <= 0) || (keyTo !== null && compare(k, keyTo) > 0));
  if (outside !== undefined) {
    throw new InvalidReconcileError(`reconcile ${record.id}: key ${String(outside)} lies outside its range (${String(keyAfter)}, ${String(keyTo)}] in ${order} order; not applied`);
  }
  return order;
}

/** The key's own order: numbers as numbers; text keys as JavaScript orders strings (their database collation is not known here). */
function compareKeys(a: ReconcileKey, b: ReconcileKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number' || typeof b === 'number') return Number(a) - Number(b);
  return compareTexts(a, b);
}

function compareTexts(a: ReconcileKey, b: ReconcileKey): number {
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

export interface ReconcileStatement {
  text: string;
  values: unknown[];
}

/** The statement that gives the absent rows their delete versions; null for a source table no warehouse table is keyed by (department). */
export function reconcileDeleteSql(schema: string, record: ReconcileRecord): ReconcileStatement | null {
  const target = RECONCILED_TABLE[record.table];
  if (!target) return null;
  const spec = WAREHOUSE_MODEL[target.table];
  const keyColumn = spec.columns.find((c) => c.name === target.key);
  if (!keyColumn) throw new Error(`reconcile: ${target.table} has no column ${target.key}`);
  const keyType = sqlType(keyColumn.type);
  const lsn = parseLsn(record.lsn).toString();
  const key = ident(target.key);
  // $1 lsn, $2 seq bound, $3 keys, then the bounds when present.
  // Integer keys in the array's text form (arrayParameter): node-postgres would quote each of a
  // snapshot chunk's 5,000 keys; other keys as text.
  const keys = arrayParameter(record.keys);
  const values: unknown[] = [lsn, 0, keys === record.keys ? record.keys.map(String) : keys];
  const bounds: string[] = [];
  const [bounded, boundType] = reconcileKeyOrder(record) === 'key' ? [`x.${key}`, keyType] : [`x.${key}::text COLLATE "C"`, 'text'];
  if (record.keyAfter !== null) bounds.push(`AND ${bounded} > $${values.push(String(record.keyAfter))}::${boundType}`);
  if (record.keyTo !== null) bounds.push(`AND ${bounded} <= $${values.push(String(record.keyTo))}::${boundType}`);
  const absent = `x.${key} NOT IN (SELECT unnest($3::${keyType}[]))`;

  if (spec.kind === 'fact') {
    const fact = spec as FactSpec;
    values[1] = record.seq;
    const idParam = values.push(`reconcile/${record.table}/`);
    const idTail = values.push(`@${record.lsn}/${record.seq}`);
    const tsParam = values.push(record.commitTs);
    const overrides: Record<string, string> = {
      event_id: `$${idParam} || x.${key}::text || $${idTail}`,
      op: `'d'`,
      source_lsn: '$1::bigint',
      source_seq: '$2::int',
      commit_ts: `$${tsParam}::timestamptz`,
    };
    const columns = fact.columns.map((c) => ident(c.name)).join(', ');
    const select = fact.columns.map((c) => overrides[c.name] ?? `x.${ident(c.name)}`).join(', ');
    return {
      values,
      text: `INSERT INTO ${qualified(schema, fact.name)} (${columns})
SELECT ${select} FROM (
  SELECT DISTINCT ON (x.${key}) x.* FROM ${qualified(schema, fact.name)} x
  WHERE (x.source_lsn, x.source_seq) < ($1::bigint, $2::int) ${bounds.join(' ')}
  ORDER BY x.${key}, x.source_lsn DESC, x.source_seq DESC
) x
WHERE x.op <> 'd' AND ${absent}
ON CONFLICT (event_id) DO NOTHING`,
    };
  }

  const dimension = spec as DimensionSpec;
  // (version_lsn, version_seq) is the dimension's own source row's version, joined ones included
  // (their partner's is joined_version_*, kept as it is): the delete takes V itself.
  values[1] = record.seq;
  return {
    values,
    text: `UPDATE ${qualified(schema, dimension.name)} AS x SET is_deleted = true, version_lsn = $1::bigint, version_seq = $2::int, loaded_at = now()
WHERE NOT x.is_deleted AND (x.version_lsn, x.version_seq) < ($1::bigint, $2::int) ${bounds.join(' ')} AND ${absent}`,
  };
}
