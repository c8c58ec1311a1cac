import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTS } from '../../contracts/warehouse-model.js';
import { loadConfig, type Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { syncPipeline } from '../../runtime/sync-pipeline.js';
import { seedTotesys } from '../../totesys/generator/seed-totesys.js';
import { COMPARED_DIMENSIONS, diffRowSets, expectedCurrentFacts, expectedDimensions, warehouseCurrentFacts, warehouseDimensions } from '../support/expected-star-schema.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

/**
 * Issue 14 item 1 end to end, on embedded Postgres: updates that change primary keys (the real
 * totesys schema makes every foreign key ON UPDATE CASCADE, so the referencing rows change in the
 * same transaction) go through capture, processor and loader as the delete of the old key and the
 * create of the new one. purchase_order keeps the default replica identity (pgoutput sends the old
 * key alone, the 'K' tuple), every other table has REPLICA IDENTITY FULL (the whole old row).
 */
describe('pipeline end to end: primary-key changes', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let config: Readonly<Config>;
  const moved: Record<string, { from: number; to: number }> = {};

  const sync = () => syncPipeline({ config, sourceUrl: source.url, warehouseUrl: warehouse.url, logger: silentLogger });

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('keys source'), createTestDatabase('keys warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-keys-'));
    const slotName = `keys_${randomBytes(4).toString('hex')}`;
    config = loadConfig(
      { stateDir, sourceUrl: source.url, warehouseUrl: warehouse.url, heartbeatIntervalMs: 1000, slotName, publicationName: slotName, logLevel: 'silent', replicaIdentityFull: false },
      {},
    );
    await seedTotesys(source.url, { scale: 0.02, seed: 14 });
    await withClient(source.url, async (c) => {
      // The real schema's foreign keys: ON UPDATE CASCADE.
      await c.query(`DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT conrelid::regclass AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace LOOP
          EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s ON UPDATE CASCADE', r.tbl, r.conname, r.conname, r.def);
        END LOOP; END $$`);
      for (const table of ['address', 'counterparty', 'currency', 'department', 'design', 'payment_type', 'staff', 'sales_order', 'transaction', 'payment']) {
        await c.query(`ALTER TABLE ${pg.escapeIdentifier(table)} REPLICA IDENTITY FULL`);
      }
    });
    await sync();
    await withClient(source.url, async (c) => {
      const pick = async (table: string, key: string, to: number, where = 'true') => {
        const { rows } = await c.query(`SELECT min(${key}) AS id FROM ${table} WHERE ${where}`);
        moved[table] = { from: rows[0].id as number, to };
        await c.query(`UPDATE ${table} SET ${key} = $1 WHERE ${key} = $2`, [to, rows[0].id]);
      };
      // Referenced by a transaction: the cascade updates dim_transaction in the same commit.
      await pick('purchase_order', 'purchase_order_id', 900001, 'purchase_order_id IN (SELECT purchase_order_id FROM transaction)');
      await pick('sales_order', 'sales_order_id', 900002, 'sales_order_id IN (SELECT sales_order_id FROM transaction)');
      // Referenced by staff: their cascaded updates join them to the new key.
      await pick('department', 'department_id', 900, 'department_id IN (SELECT department_id FROM staff)');
      // Referenced by counterparties and by orders' delivery locations.
      await pick('address', 'address_id', 9000, 'address_id IN (SELECT legal_address_id FROM counterparty)');
      await pick('staff', 'staff_id', 9001, 'staff_id IN (SELECT staff_id FROM sales_order)');
      await pick('design', 'design_id', 9002);
      await pick('payment', 'payment_id', 900003);
      // A key changed twice in one transaction, and an ordinary update after a key change.
      await c.query('BEGIN');
      await c.query('UPDATE currency SET currency_id = 70 WHERE currency_id = 1');
      await c.query('UPDATE currency SET currency_id = 71 WHERE currency_id = 70');
      await c.query('COMMIT');
      await c.query('UPDATE purchase_order SET item_quantity = item_quantity + 1 WHERE purchase_order_id = 900001');
    });
    await sync();
  }, 240_000);

  afterAll(async () => {
    await source?.drop();
    await warehouse?.drop();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('the warehouse equals the star schema computed from the source: old keys gone from current facts and live dimensions', async () => {
    await withClient(source.url, async (src) => {
      await withClient(warehouse.url, async (wh) => {
        const [wantDims, haveDims] = [await expectedDimensions(src), await warehouseDimensions(wh, 'star')];
        for (const dim of COMPARED_DIMENSIONS) expect(diffRowSets(wantDims[dim], haveDims[dim]), dim).toMatchObject({ missing: [], unexpected: [] });
        const [wantFacts, haveFacts] = [await expectedCurrentFacts(src), await warehouseCurrentFacts(wh, 'star')];
        for (const fact of FACTS) expect(diffRowSets(wantFacts[fact], haveFacts[fact]), fact).toMatchObject({ missing: [], unexpected: [] });
      });
    });
  });

  it('a fact gets a d version for the old id at the key change, then the new id its versions', async () => {
    await withClient(warehouse.url, async (wh) => {
      const versions = async (table: string, key: string, id: number) =>
        (await wh.query(`SELECT string_agg(op, ',' ORDER BY source_lsn, source_seq) AS ops FROM star.${table} WHERE ${key} = $1`, [id])).rows[0].ops as string;
      expect(await versions('fact_purchase_order', 'purchase_order_id', moved.purchase_order.from)).toBe('r,d');
      // Later cascades (address, staff, currency keys) and the ordinary update are updates of the new id.
      expect(await versions('fact_purchase_order', 'purchase_order_id', 900001)).toMatch(/^c(,u)+$/);
      expect(await versions('fact_sales_order', 'sales_order_id', moved.sales_order.from)).toMatch(/^r,(u,)*d$/);
      expect(await versions('fact_sales_order', 'sales_order_id', 900002)).toMatch(/^c(,u)*$/);
      expect(await versions('fact_payment', 'payment_id', moved.payment.from)).toMatch(/^r,(u,)*d$/);
      expect(await versions('fact_payment', 'payment_id', 900003)).toMatch(/^c(,u)*$/);
      // The ids' current rows: only the new ones (the views drop a source id whose last version is a delete).
      const current = await wh.query(`SELECT purchase_order_id AS id FROM star.fact_purchase_order_current WHERE purchase_order_id IN ($1, 900001) ORDER BY 1`, [moved.purchase_order.from]);
      expect(current.rows).toEqual([{ id: 900001 }]);
      // The key-only old image (default identity) gives the delete version the new row's values under the old id.
      const { rows } = await wh.query(`SELECT item_code FROM star.fact_purchase_order WHERE purchase_order_id = $1 AND op = 'd'`, [moved.purchase_order.from]);
      expect(rows).toHaveLength(1);
    });
  });

  it('a dimension marks its old key deleted', async () => {
    await withClient(warehouse.url, async (wh) => {
      const deleted = async (table: string, key: string, id: number) => (await wh.query(`SELECT is_deleted FROM star.${table} WHERE ${key} = $1`, [id])).rows[0]?.is_deleted as boolean | undefined;
      expect(await deleted('dim_location', 'location_id', moved.address.from)).toBe(true);
      expect(await deleted('dim_staff', 'staff_id', moved.staff.from)).toBe(true);
      expect(await deleted('dim_design', 'design_id', moved.design.from)).toBe(true);
      expect(await deleted('dim_currency', 'currency_id', 1)).toBe(true);
      expect(await deleted('dim_currency', 'currency_id', 70)).toBe(true);
      expect(await deleted('dim_currency', 'currency_id', 71)).toBe(false);
      expect(await deleted('dim_location', 'location_id', 9000)).toBe(false);
    });
  });
});
