import { WAREHOUSE_MODEL, type DimensionSpec, type FactSpec } from '../contracts/warehouse-model.js';
import type { WarehouseClient } from './warehouse-pool.js';

/**
 * How a fact load has its foreign keys checked.
 *
 * 'per-row': Postgres's own way, one trigger call per row and key. A sales-order row has 9 keys,
 * so in a catch-up these calls are most of the loader's database time (docs/performance.md).
 *
 * 'set-based': the loader already collects every key a fact file references, to make inferred
 * members. One statement makes the missing members and takes FOR KEY SHARE on every other
 * referenced dimension row, which is the lock each per-row check takes, once per key instead of
 * once per row. Then the fact rows go in with `session_replication_role = replica` for that
 * statement only, which skips the per-row triggers. The foreign keys stay declared and enforced
 * for every other writer. A key found neither held nor inserted (deleted meanwhile, or inserted
 * by someone else) makes that file go in with the per-row checks, which report the violation as
 * before.
 *
 * Set-based only when it changes nothing but speed, checked against the catalog:
 *  - the role may set session_replication_role (a superuser, or PostgreSQL 15+ with
 *    `GRANT SET ON PARAMETER session_replication_role TO <loader>`); probed by setting it;
 *  - the fact tables have no foreign key but the model's (all are then checked by the loader) and
 *    no user trigger or rule that replica mode would skip or newly fire;
 *  - nobody turned it off: `ALTER ROLE <loader> SET totesys_cdc.fact_key_checks = 'per-row'`.
 */
export type FactKeyCheckMode = 'set-based' | 'per-row';

export const KEY_CHECKS_SETTING = 'totesys_cdc.fact_key_checks';

/** How long a decided mode is reused before the catalog is asked again (grants and triggers change rarely). */
const MODE_TTL_MS = 60_000;

const decided = new WeakMap<object, Map<string, { mode: FactKeyCheckMode; at: number }>>();

type Client = Pick<WarehouseClient, 'query'>;

/** The mode for this session and schema (cached per client for a minute). Must run inside a transaction (it probes with a savepoint). */
export async function factKeyCheckMode(client: Client, schema: string): Promise<FactKeyCheckMode> {
  let bySchema = decided.get(client);
  if (!bySchema) decided.set(client, (bySchema = new Map()));
  const known = bySchema.get(schema);
  if (known && Date.now() - known.at < MODE_TTL_MS) return known.mode;
  const { mode } = await decideFactKeyChecks(client, schema);
  bySchema.set(schema, { mode, at: Date.now() });
  return mode;
}

interface CatalogFacts {
  turned_off: boolean;
  triggers: string[];
  foreign_keys: { table: string; columns: string[]; references: string; referenced_schema: string; referenced_columns: string[] }[];
}

/** The mode, and why not set-based when it is not (doctor shows it). Inside a transaction. */
export async function decideFactKeyChecks(client: Client, schema: string): Promise<{ mode: FactKeyCheckMode; reason?: string }> {
  const facts = Object.values(WAREHOUSE_MODEL).filter((spec): spec is FactSpec => spec.kind === 'fact');
  const { rows } = await client.query<CatalogFacts>(
    `SELECT coalesce(current_setting($3, true), '') = 'per-row' AS turned_off,
       ARRAY(SELECT c.relname || '.' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND t.tgenabled IN ('O', 'R')
               -- internal triggers only of the table's own foreign keys (checked below); any other
               -- (a deferrable unique or exclusion constraint's) would be skipped in replica mode
               AND (NOT t.tgisinternal OR NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.oid = t.tgconstraint AND k.contype = 'f' AND k.conrelid = c.oid))
             UNION ALL
             SELECT c.relname || '.' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND r.rulename <> '_RETURN' AND r.ev_enabled IN ('O', 'R')) AS triggers,
       coalesce((SELECT json_agg(json_build_object('table', c.relname, 'references', rc.relname, 'referenced_schema', rn.nspname,
                   'columns', ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i),
                   'referenced_columns', ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(attnum, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.i)))
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                 WHERE k.contype = 'f' AND n.nspname = $1 AND c.relname = ANY($2::text[])), '[]'::json) AS foreign_keys`,
    [schema, facts.map((f) => f.name), KEY_CHECKS_SETTING],
  );
  const catalog = rows[0]!;
  if (catalog.turned_off) return { mode: 'per-row', reason: `turned off (${KEY_CHECKS_SETTING} = 'per-row')` };
  if (catalog.triggers.length > 0) return { mode: 'per-row', reason: `triggers or rules on the fact tables that replica mode would skip or fire: ${catalog.triggers.join(', ')}` };
  // A modelled key: the fact's column referencing its dimension's key (what the loader holds).
  const modelled = new Set(facts.flatMap((f) => f.foreignKeys.map((fk) => `${f.name}.${fk.column}>${fk.references}.${(WAREHOUSE_MODEL[fk.references] as DimensionSpec).key}`)));
  const foreign = catalog.foreign_keys.filter(
    (fk) => !(fk.referenced_schema === schema && fk.columns.length === 1 && fk.referenced_columns.length === 1 && modelled.has(`${fk.table}.${fk.columns[0]}>${fk.references}.${fk.referenced_columns[0]}`)),
  );
  if (foreign.length > 0) return { mode: 'per-row', reason: `foreign keys outside the warehouse model: ${foreign.map((fk) => `${fk.table} (${fk.columns.join(', ')}) → ${fk.referenced_schema}.${fk.references}`).join('; ')}` };
  if (!(await maySkipRowTriggers(client))) return { mode: 'per-row', reason: 'this role may not set session_replication_role' };
  return { mode: 'set-based' };
}

/** Whether this role may set session_replication_role: tried in a savepoint, undone either way. */
async function maySkipRowTriggers(client: Client): Promise<boolean> {
  await client.query('SAVEPOINT fact_key_check_probe');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    return false;
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT fact_key_check_probe');
    await client.query('RELEASE SAVEPOINT fact_key_check_probe');
  }
}

const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Runs `load` (the statements that write one fact file's rows) without the per-row foreign-key
 * triggers, for a file whose referenced keys the caller holds (set-based mode). SET LOCAL is undone
 * by the transaction's end, and by a rollback to a savepoint taken after it.
 */
export async function withoutRowTriggers<T>(client: WarehouseClient, load: () => Promise<T>): Promise<T> {
  try {
    await client.query('SET LOCAL session_replication_role = replica');
  } catch (error) {
    if ((error as { code?: unknown }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    // The grant was revoked since the mode was decided: decided again on the retry, never a failed manifest.
    decided.delete(client);
    throw new KeyCheckModeChangedError(error);
  }
  const result = await load();
  await client.query('SET LOCAL session_replication_role TO DEFAULT');
  return result;
}

/**
 * The role lost the right to set session_replication_role between the decision and its use. A
 * retryable error that is not a PipelineError: it stops the loader run (nothing is recorded as
 * failed), and the next run decides the mode again.
 */
export class KeyCheckModeChangedError extends Error {
  readonly category = 'retryable';
  constructor(cause: unknown) {
    super('the loader may no longer set session_replication_role; the next run loads with per-row foreign-key checks', { cause });
  }
}
