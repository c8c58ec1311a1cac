import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { FACTS, WAREHOUSE_MODEL, WAREHOUSE_TABLES, type FactSpec } from '../../contracts/warehouse-model.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrateWarehouseSchema } from '../../loader/warehouse-schema.js';
import { useTestPool } from '../support/loader-testbed.js';

describe('warehouse schema migrations', () => {
  const bed = useTestPool('loader_schema', 3);

  const withClient = async <T>(fn: (c: pg.PoolClient) => Promise<T>) => {
    const c = await bed.pool.connect();
    try {
      return await fn(c);
    } finally {
      c.release();
    }
  };

  it('applies once and is a no-op the second time, also when run concurrently', async () => {
    const [a, b] = await Promise.all([withClient((c) => migrateWarehouseSchema(c, 'star')), withClient((c) => migrateWarehouseSchema(c, 'star'))]);
    expect([...a.applied, ...b.applied]).toEqual(MIGRATIONS.map((m) => m.version));
    const again = await withClient((c) => migrateWarehouseSchema(c, 'star'));
    expect(again).toEqual({ schema: 'star', applied: [], version: LATEST_SCHEMA_VERSION });
    const { rows } = await bed.pool.query('SELECT version FROM star.schema_version ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('creates the 11 tables with exact column types, loaded_at, ledger and failure tables', async () => {
    const { rows } = await bed.pool.query<{ table_name: string; column_name: string; type: string; is_nullable: string }>(
      `SELECT c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod) AS type, c.is_nullable
       FROM information_schema.columns c
       JOIN pg_attribute a ON a.attrelid = format('star.%I', c.table_name)::regclass AND a.attname = c.column_name
       WHERE c.table_schema = 'star'`,
    );
    const byTable = new Map<string, Map<string, string>>();
    for (const r of rows) byTable.set(r.table_name, (byTable.get(r.table_name) ?? new Map()).set(r.column_name, `${r.type}${r.is_nullable === 'NO' ? ' not null' : ''}`));
    for (const table of WAREHOUSE_TABLES) expect(byTable.get(table)?.get('loaded_at')).toBe('timestamp with time zone not null');
    const payment = byTable.get('fact_payment')!;
    expect(payment.get('payment_record_id')).toBe('integer not null');
    expect(payment.get('payment_amount')).toBe('numeric(10,2) not null');
    expect(payment.get('created_date')).toBe('date not null');
    expect(payment.get('created_time')).toBe('time(3) without time zone not null');
    expect(payment.get('commit_ts')).toBe('timestamp(3) with time zone not null');
    expect(payment.get('source_lsn')).toBe('bigint not null');
    expect(payment.get('paid')).toBe('boolean not null');
    expect(byTable.get('dim_location')!.get('address_line_2')).toBe('text');
    // every model column exists, and nothing else but the loader's bookkeeping columns
    for (const table of WAREHOUSE_TABLES) {
      const spec = WAREHOUSE_MODEL[table];
      const extra = spec.kind === 'fact' ? [spec.recordId, 'loaded_at'] : ['loaded_at'];
      expect([...byTable.get(table)!.keys()].sort()).toEqual([...spec.columns.map((c) => c.name), ...extra].sort());
    }
    expect(byTable.has('load_ledger')).toBe(true);
    expect([...byTable.get('load_failures')!.keys()]).toEqual(expect.arrayContaining(['manifest_key', 'batch_id', 'error', 'attempts', 'first_failed_at', 'last_failed_at']));
    expect(byTable.has('fact_sales_order_current') && byTable.has('fact_sales_order_history')).toBe(true);
  });

  it('has primary keys, unique event ids and every foreign key of the model', async () => {
    const { rows } = await bed.pool.query<{ table: string; type: string; def: string }>(
      `SELECT conrelid::regclass::text AS table, contype AS type, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE connamespace = 'star'::regnamespace`,
    );
    const defs = (table: string, type: string) => rows.filter((r) => r.table === `star.${table}` && r.type === type).map((r) => r.def);
    expect(defs('dim_staff', 'p')).toEqual(['PRIMARY KEY (staff_id)']);
    expect(defs('dim_date', 'p')).toEqual(['PRIMARY KEY (date_id)']);
    expect(defs('load_ledger', 'p')).toEqual(['PRIMARY KEY (batch_id)']);
    for (const fact of FACTS) {
      const spec = WAREHOUSE_MODEL[fact] as FactSpec;
      expect(defs(fact, 'p')).toEqual([`PRIMARY KEY (${spec.recordId})`]);
      expect(defs(fact, 'u')).toEqual(['UNIQUE (event_id)']);
      const expected = spec.foreignKeys.map((fk) => `FOREIGN KEY (${fk.column}) REFERENCES star.${fk.references}(${(WAREHOUSE_MODEL[fk.references] as { key: string }).key})`);
      expect(defs(fact, 'f').sort()).toEqual(expected.sort());
    }
  });

  it('compares event ids and manifest keys byte by byte, as the bucket lists them', async () => {
    const { rows } = await bed.pool.query<{ column: string; collation: string }>(
      `SELECT c.relname || '.' || a.attname AS column, co.collname AS collation
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_collation co ON co.oid = a.attcollation
       WHERE c.relnamespace = 'star'::regnamespace AND c.relkind IN ('r', 'v') AND a.attname IN ('event_id', 'manifest_key', 'batch_id', 'first_event_id', 'last_event_id')`,
    );
    expect(rows.length).toBe(FACTS.length * 3 + 4 + 2 + 1 + 1); // each fact, its two views, the ledger, the failures, the watermarks, the reconcile copies
    for (const row of rows) expect(row, row.column).toMatchObject({ collation: 'C' });
  });

  it('upgrades a version-1 warehouse in place, keeping its rows and views', async () => {
    await withClient(async (c) => {
      await c.query('CREATE SCHEMA star_v1');
      await c.query('CREATE TABLE star_v1.schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const sql of MIGRATIONS[0]!.statements('star_v1')) await c.query(sql);
      await c.query(`INSERT INTO star_v1.schema_version (version, description) VALUES (1, 'v1')`);
      await c.query(
        `INSERT INTO star_v1.load_ledger (batch_id, manifest_key, manifest_created_at, rows, event_count, first_event_id, last_event_id, min_commit_ts, max_commit_ts, duration_ms)
         VALUES ('b1', 'manifests/date=2026-11-23/x.json', now(), '{}', 1, '0/1/0', '0/1/0', now(), now(), 1)`,
      );
      expect((await migrateWarehouseSchema(c, 'star_v1')).applied).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
      expect((await c.query(`SELECT batch_id, manifest_key FROM star_v1.load_ledger`)).rows).toEqual([{ batch_id: 'b1', manifest_key: 'manifests/date=2026-11-23/x.json' }]);
      const collation = await c.query(`SELECT collation_name FROM information_schema.columns WHERE table_schema = 'star_v1' AND table_name = 'fact_payment_current' AND column_name = 'event_id'`);
      expect(collation.rows).toEqual([{ collation_name: 'C' }]);
    });
  });

  it('builds into any schema name (replay builds beside the live one)', async () => {
    const result = await withClient((c) => migrateWarehouseSchema(c, 'star_replay'));
    expect(result.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const { rows } = await bed.pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'star_replay' AND table_type = 'BASE TABLE'`);
    expect(rows[0].n).toBe(11 + 4 + 2); // + reconcile_copies, reconcile_applied
  });
});
