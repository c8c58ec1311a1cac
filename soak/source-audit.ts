import type pg from 'pg';
import { FACT_SOURCES } from '../test/support/expected-star-schema.js';

/**
 * The soak's oracle for fact versions, kept inside the source and outside the pipeline: triggers on
 * the three fact source tables write every committed row change to `soak_audit.change`, a schema
 * the publication does not hold (it lists the 11 totesys tables). The audit row commits or rolls
 * back with the change itself, so it records exactly what the source committed, whoever wrote it
 * (the soak's workload, the simulator, cascades), through restarts of anything.
 *
 * An update that changes the primary key is recorded as a delete of the old key and a create of the
 * new one (issue 14 item 1); a TRUNCATE as a delete of every row it removes (item 5). Rows present
 * when the audit is installed are the `baseline`: the initial snapshot gives each one `r` version.
 */
export const AUDIT_SCHEMA = 'soak_audit';

export const AUDITED_TABLES = Object.values(FACT_SOURCES).map(({ sourceTable, sourceId }) => ({ table: sourceTable, key: sourceId }));

const AUDIT_DDL = `
CREATE SCHEMA ${AUDIT_SCHEMA};
CREATE TABLE ${AUDIT_SCHEMA}.baseline (source_table text NOT NULL, id bigint NOT NULL, PRIMARY KEY (source_table, id));
CREATE TABLE ${AUDIT_SCHEMA}.change (
  seq          bigserial PRIMARY KEY,
  source_table text      NOT NULL,
  id           bigint    NOT NULL,
  op           text      NOT NULL CHECK (op IN ('c', 'u', 'd'))
);
-- New keys for primary-key changes, far above what the tables' serials reach in a soak.
CREATE SEQUENCE ${AUDIT_SCHEMA}.new_key START 50000000;

CREATE FUNCTION ${AUDIT_SCHEMA}.log_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  key_column text := TG_ARGV[0];
  old_id bigint;
  new_id bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${AUDIT_SCHEMA}.change (source_table, id, op) VALUES (TG_TABLE_NAME, (to_jsonb(NEW) ->> key_column)::bigint, 'c');
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO ${AUDIT_SCHEMA}.change (source_table, id, op) VALUES (TG_TABLE_NAME, (to_jsonb(OLD) ->> key_column)::bigint, 'd');
  ELSE
    old_id := (to_jsonb(OLD) ->> key_column)::bigint;
    new_id := (to_jsonb(NEW) ->> key_column)::bigint;
    IF old_id = new_id THEN
      INSERT INTO ${AUDIT_SCHEMA}.change (source_table, id, op) VALUES (TG_TABLE_NAME, new_id, 'u');
    ELSE
      INSERT INTO ${AUDIT_SCHEMA}.change (source_table, id, op) VALUES (TG_TABLE_NAME, old_id, 'd'), (TG_TABLE_NAME, new_id, 'c');
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- BEFORE TRUNCATE still sees the rows: each one gets its delete.
CREATE FUNCTION ${AUDIT_SCHEMA}.log_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO ${AUDIT_SCHEMA}.change (source_table, id, op) SELECT %L, %I, ''d'' FROM %I.%I ORDER BY 2',
    TG_TABLE_NAME, TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME);
  RETURN NULL;
END $$;
`;

/** Installs the audit on a freshly seeded source and records the baseline, in one transaction. */
export async function installSourceAudit(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(AUDIT_DDL);
    for (const { table, key } of AUDITED_TABLES) {
      const t = client.escapeIdentifier(table);
      const k = client.escapeIdentifier(key);
      await client.query(`CREATE TRIGGER soak_audit_row AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${AUDIT_SCHEMA}.log_row(${client.escapeLiteral(key)})`);
      await client.query(`CREATE TRIGGER soak_audit_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ${AUDIT_SCHEMA}.log_truncate(${client.escapeLiteral(key)})`);
      await client.query(`INSERT INTO ${AUDIT_SCHEMA}.baseline (source_table, id) SELECT $1, ${k} FROM ${t}`, [table]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/**
 * Per source row of `table`, the versions the warehouse must hold, in commit order: `r` for a
 * baseline row (the initial snapshot that first saw it), then one per committed change. A row
 * changes under row locks, so per row the audit sequence is the commit order.
 */
export async function expectedVersions(client: pg.ClientBase, table: string): Promise<Map<number, string>> {
  const { rows } = await client.query<{ id: string; ops: string }>(
    `SELECT id::text, string_agg(op, ',' ORDER BY ord) AS ops FROM (
       SELECT id, 'r' AS op, 0::bigint AS ord FROM ${AUDIT_SCHEMA}.baseline WHERE source_table = $1
       UNION ALL SELECT id, op, seq FROM ${AUDIT_SCHEMA}.change WHERE source_table = $1
     ) v GROUP BY id`,
    [table],
  );
  return new Map(rows.map((r) => [Number(r.id), r.ops]));
}

/** Rows the workload created since the audit began and that still exist (what the snapshot-phase workload may touch). */
export async function rowsCreatedSinceBaseline(client: pg.ClientBase, table: string, key: string, limit: number): Promise<number[]> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT c.id::text FROM ${AUDIT_SCHEMA}.change c JOIN ${client.escapeIdentifier(table)} t ON t.${client.escapeIdentifier(key)} = c.id
     WHERE c.source_table = $1 AND c.op = 'c' ORDER BY random() LIMIT $2`,
    [table, limit],
  );
  return rows.map((r) => Number(r.id));
}
