import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAREHOUSE_MODEL, type FactSpec } from '../../contracts/warehouse-model.js';
import { factKeyCheckMode, KEY_CHECKS_SETTING, KeyCheckModeChangedError } from '../../loader/fact-key-checks.js';
import { loadPendingManifests, type LoadPendingOptions } from '../../loader/run-loader.js';
import { insertFactRows, insertInferredMembers } from '../../loader/load-manifest.js';
import type { WarehouseClient } from '../../loader/warehouse-pool.js';
import { ensureWarehouseSchema } from '../../loader/warehouse-schema.js';
import { silentLogger } from '../../platform/logger.js';
import { withAdmin } from '../support/postgres.js';
import { useTestPool } from '../support/loader-testbed.js';
import { createProcessedBucket, salesFact, writeBatch } from '../support/processed-batch-factory.js';

const SALES = WAREHOUSE_MODEL.fact_sales_order as FactSpec;
const ROLE = 'key_checks_loader';

/** A fresh connection (the decided mode is cached per client), in a transaction: the probe needs one. */
async function modeOf(url: string, schema: string, setup?: (client: pg.Client) => Promise<unknown>): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await setup?.(client);
    await client.query('BEGIN');
    const mode = await factKeyCheckMode(client as unknown as WarehouseClient, schema);
    await client.query('ROLLBACK');
    return mode;
  } finally {
    await client.end();
  }
}

function roleUrl(url: string): string {
  const u = new URL(url);
  u.username = ROLE;
  u.password = 'key-checks';
  return u.toString();
}

describe('loader: foreign keys checked set-based (fact-key-checks.ts)', () => {
  const bed = useTestPool('loader_key_checks');
  let n = 0;
  const freshSchema = async () => {
    const schema = `star_k${++n}`;
    await ensureWarehouseSchema({ pool: bed.pool, schema, logger: silentLogger });
    return schema;
  };
  beforeAll(async () => {
    await withAdmin(async (c) => {
      await c.query(`DROP ROLE IF EXISTS ${ROLE}`);
      await c.query(`CREATE ROLE ${ROLE} WITH LOGIN PASSWORD 'key-checks'`);
      await c.query(`GRANT CREATE ON DATABASE ${bed.db.name} TO ${ROLE}`);
    });
  });
  afterAll(async () => {
    await withAdmin(async (c) => {
      await c.query(`DROP OWNED BY ${ROLE}`).catch(() => {});
      await c.query(`DROP ROLE IF EXISTS ${ROLE}`);
    }).catch(() => {});
  });

  it('is used by a superuser, and by a role granted SET on session_replication_role; any other role checks per row', async () => {
    const asRole = roleUrl(bed.db.url);
    const ownSchema = 'star_k_role';
    const rolePool = new pg.Pool({ connectionString: asRole, max: 1 });
    try {
      await ensureWarehouseSchema({ pool: rolePool, schema: ownSchema, logger: silentLogger });
    } finally {
      await rolePool.end();
    }
    expect(await modeOf(bed.db.url, ownSchema)).toBe('set-based');
    expect(await modeOf(asRole, ownSchema)).toBe('per-row');
    await withAdmin((c) => c.query(`GRANT SET ON PARAMETER session_replication_role TO ${ROLE}`));
    const bucket = await createProcessedBucket();
    const loaderPool = new pg.Pool({ connectionString: asRole, max: 1 });
    const load = () => loadPendingManifests({ pool: loaderPool, processed: bucket.store, schema: ownSchema, logger: silentLogger, retry: { retryBaseMs: 0 } } as LoadPendingOptions);
    try {
      expect(await modeOf(asRole, ownSchema)).toBe('set-based');
      await writeBatch(bucket.store, { fact_sales_order: [salesFact(1, 10n)] });
      expect(await load()).toMatchObject({ status: 'completed', manifestsLoaded: 1 }); // the pool's one client decides set-based
      // Revoked while that decision is cached: the run stops (retryable), nothing is recorded as failed,
      // and the next run loads with per-row checks.
      await withAdmin((c) => c.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${ROLE}`));
      await writeBatch(bucket.store, { fact_sales_order: [salesFact(2, 11n)] });
      await expect(load()).rejects.toBeInstanceOf(KeyCheckModeChangedError);
      expect(await load()).toMatchObject({ status: 'completed', manifestsLoaded: 1, manifestsFailed: 0 });
      expect((await bed.pool.query(`SELECT count(*)::int AS n FROM ${ownSchema}.fact_sales_order`)).rows[0].n).toBe(2);
    } finally {
      await withAdmin((c) => c.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${ROLE}`));
      await loaderPool.end();
      await bucket.cleanup();
    }
  });

  it('is not used when replica mode would change what happens: a user trigger, a foreign key outside the model, or turned off', async () => {
    const schema = await freshSchema();
    expect(await modeOf(bed.db.url, schema)).toBe('set-based');
    expect(await modeOf(bed.db.url, schema, (c) => c.query(`SET ${KEY_CHECKS_SETTING} = 'per-row'`))).toBe('per-row');

    await bed.pool.query(`CREATE TABLE ${schema}.audit (n int)`);
    await bed.pool.query(`CREATE FUNCTION ${schema}.audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${schema}.audit VALUES (1); RETURN NULL; END $$`);
    await bed.pool.query(`CREATE TRIGGER audited AFTER INSERT ON ${schema}.fact_sales_order FOR EACH ROW EXECUTE FUNCTION ${schema}.audit_insert()`);
    expect(await modeOf(bed.db.url, schema)).toBe('per-row');
    await bed.pool.query(`ALTER TABLE ${schema}.fact_sales_order DISABLE TRIGGER audited`);
    expect(await modeOf(bed.db.url, schema)).toBe('set-based');
    await bed.pool.query(`ALTER TABLE ${schema}.fact_sales_order ENABLE REPLICA TRIGGER audited`);
    expect(await modeOf(bed.db.url, schema)).toBe('per-row');
    await bed.pool.query(`ALTER TABLE ${schema}.fact_sales_order ENABLE ALWAYS TRIGGER audited`);
    expect(await modeOf(bed.db.url, schema)).toBe('set-based');

    await bed.pool.query(`ALTER TABLE ${schema}.fact_sales_order ADD CONSTRAINT one_version UNIQUE (sales_order_id, source_lsn, source_seq) DEFERRABLE INITIALLY DEFERRED`);
    expect(await modeOf(bed.db.url, schema)).toBe('per-row'); // its check is an internal trigger that replica mode would skip
    await bed.pool.query(`ALTER TABLE ${schema}.fact_sales_order DROP CONSTRAINT one_version`);
    expect(await modeOf(bed.db.url, schema)).toBe('set-based');

    await bed.pool.query(`CREATE TABLE ${schema}.approved_units (units int PRIMARY KEY)`);
    await bed.pool.query(`ALTER TABLE ${schema}.fact_sales_order ADD CONSTRAINT units_approved FOREIGN KEY (units_sold) REFERENCES ${schema}.approved_units (units)`);
    expect(await modeOf(bed.db.url, schema)).toBe('per-row');
  });

  it('holds every referenced key until commit: a concurrent delete of a referenced dimension row waits, then fails', async () => {
    const schema = await freshSchema();
    // Staff 7 exists (a real row), staff 8 does not (an inferred member is made).
    await bed.pool.query(`INSERT INTO ${schema}.dim_staff (staff_id, first_name, version_lsn, version_seq, joined_version_lsn, joined_version_seq, is_deleted) VALUES (7, 'Ann', 5, 0, 0, 0, false)`);
    const loader = await bed.pool.connect();
    const deleter = await bed.pool.connect();
    try {
      await loader.query('BEGIN');
      const rows = [salesFact(1, 10n, { sales_staff_id: 7 }), salesFact(2, 11n, { sales_staff_id: 8 })];
      const keys = await insertInferredMembers(loader as unknown as WarehouseClient, schema, SALES, rows);
      expect(keys.held).toBe(true);
      expect(await insertFactRows(loader as unknown as WarehouseClient, schema, SALES, rows, new Set(), { keysHeld: keys.held })).toBe(2);
      // The rows went in without per-row triggers, and replica mode ended with them.
      expect((await loader.query(`SELECT current_setting('session_replication_role') AS r`)).rows[0].r).toBe('origin');

      await deleter.query(`SET lock_timeout = '300ms'`);
      await expect(deleter.query(`DELETE FROM ${schema}.dim_staff WHERE staff_id = 7`)).rejects.toMatchObject({ code: '55P03' });
      await loader.query('COMMIT');
      await expect(deleter.query(`DELETE FROM ${schema}.dim_staff WHERE staff_id = 7`)).rejects.toMatchObject({ code: '23503' });
      await expect(deleter.query(`DELETE FROM ${schema}.dim_staff WHERE staff_id = 8`)).rejects.toMatchObject({ code: '23503' });
    } finally {
      await loader.query('ROLLBACK').catch(() => {});
      loader.release();
      deleter.release();
    }
  });

  it('a key another transaction inserts meanwhile is not held: that file goes in with the per-row checks', async () => {
    const schema = await freshSchema();
    const loader = await bed.pool.connect();
    const other = await bed.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`INSERT INTO ${schema}.dim_staff (staff_id, first_name, version_lsn, version_seq, joined_version_lsn, joined_version_seq, is_deleted) VALUES (9, 'Bo', 5, 0, 0, 0, false)`);
      await loader.query('BEGIN');
      const rows = [salesFact(1, 10n, { sales_staff_id: 9 })];
      // The inferred member of staff 9 waits for the other transaction's row, then conflicts with it.
      const inferring = insertInferredMembers(loader as unknown as WarehouseClient, schema, SALES, rows);
      await waitUntilBlocked(bed.pool, loader);
      await other.query('COMMIT');
      const keys = await inferring;
      expect(keys.held).toBe(false);
      expect(await insertFactRows(loader as unknown as WarehouseClient, schema, SALES, rows, new Set(), { keysHeld: keys.held })).toBe(1);
      await loader.query('COMMIT');
      expect((await bed.pool.query(`SELECT first_name FROM ${schema}.dim_staff WHERE staff_id = 9`)).rows).toEqual([{ first_name: 'Bo' }]);
    } finally {
      await loader.query('ROLLBACK').catch(() => {});
      await other.query('ROLLBACK').catch(() => {});
      loader.release();
      other.release();
    }
  });

  it('a fact row whose key is not held still fails with the foreign-key violation', async () => {
    const schema = await freshSchema();
    const loader = await bed.pool.connect();
    try {
      await loader.query('BEGIN');
      const rows = [salesFact(1, 10n, { sales_staff_id: 12 })];
      // No inferred members made: the key is not held, so the per-row check must catch it.
      await expect(insertFactRows(loader as unknown as WarehouseClient, schema, SALES, rows, new Set(), { keysHeld: false })).rejects.toMatchObject({ code: '23503' });
    } finally {
      await loader.query('ROLLBACK').catch(() => {});
      loader.release();
    }
  });
});

async function waitUntilBlocked(pool: pg.Pool, client: pg.PoolClient): Promise<void> {
  const pid = (client as unknown as { processID: number }).processID;
  for (let i = 0; i < 100; i++) {
    const { rows } = await pool.query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [pid]);
    if (rows[0]?.wait_event_type === 'Lock') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the loader never waited for the other transaction');
}
