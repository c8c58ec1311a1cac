import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { waitForWarehouseToEqualSource } from '../support/warehouse-equals-source.js';

/**
 * Issue 14 item 6: DDL on the source while `up` streams from it. pgoutput sends a new Relation
 * message after each change of a table's shape and capture decodes every later change with it:
 *  - an added column travels in the change event and the raw archive; the warehouse ignores it;
 *  - widened types (int → bigint, varchar(n) → text, numeric(10,2) → numeric(14,2)) change nothing
 *    in the warehouse;
 *  - a column the warehouse needs, dropped or renamed, quarantines the events that lack it with a
 *    message naming table and column, `status` shows it, and every other change keeps flowing.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

describe('source schema changes while capture streams', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let common: string[];
  let up: ChildProcess | undefined;
  let upOutput = '';

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('schema changes source'), createTestDatabase('schema changes warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-ddl-'));
    const slot = `ddl_${randomBytes(4).toString('hex')}`;
    common = ['--state-dir', stateDir, '--source-url', source.url, '--warehouse-url', warehouse.url, '--slot-name', slot, '--publication-name', slot,
      '--heartbeat-interval-ms', '1000', '--loader-interval-ms', '300', '--archive-flush-interval-ms', '500'];
    const seeded = await runCli(['seed', '--create-source-schema', '--scale', '0.01', ...common], { timeoutMs: 60_000 });
    expect(seeded.code, seeded.stderr).toBe(0);
  });

  afterAll(async () => {
    if (up && up.exitCode === null) process.kill(-up.pid!, 'SIGKILL');
    // The capture child stops within a second of its parent's death; its slot pins the database till then.
    if (source) await waitFor('the capture child to let go of its slot', () => withClient(source.url, async (c) => (await c.query(`SELECT NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE database = current_database() AND active) AS free`)).rows[0].free), 15_000).catch(() => undefined);
    await Promise.all([source?.drop(), warehouse?.drop()]);
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  const sql = (text: string) => withClient(source.url, (c) => c.query(text));
  const warehouseValue = (text: string) => withClient(warehouse.url, async (c) => (await c.query(text)).rows[0]);

  it('keeps streaming through added, widened, dropped and renamed columns', async () => {
    up = spawn(process.execPath, [CLI, 'up', '--no-simulate', '--no-dashboard', ...common], {
      cwd: REPO_ROOT,
      env: { ...process.env, TOTESYS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    up.stdout!.on('data', (d) => (upOutput += d));
    up.stderr!.on('data', (d) => (upOutput += d));
    expect(await waitForWarehouseToEqualSource(source.url, warehouse.url, 60_000), 'snapshot loaded').toEqual({});

    // Added column; widened types. Changes after them arrive with the new Relation messages.
    await sql(`ALTER TABLE address ADD COLUMN mobile_phone text`);
    await sql(`UPDATE address SET mobile_phone = '07700 900123', phone = '0113 496 0000' WHERE address_id = (SELECT min(address_id) FROM address)`);
    await sql(`ALTER TABLE sales_order ALTER COLUMN units_sold TYPE bigint`);
    await sql(`ALTER TABLE currency ALTER COLUMN currency_code TYPE text`);
    await sql(`ALTER TABLE purchase_order ALTER COLUMN item_unit_price TYPE numeric(14,2)`);
    await sql(`UPDATE sales_order SET units_sold = 2000000000 WHERE sales_order_id = (SELECT min(sales_order_id) FROM sales_order)`);
    await sql(`UPDATE currency SET last_updated = now() WHERE currency_code = 'GBP'`);
    await sql(`UPDATE purchase_order SET item_unit_price = 99999999.99 WHERE purchase_order_id = (SELECT min(purchase_order_id) FROM purchase_order)`);
    expect(await waitForWarehouseToEqualSource(source.url, warehouse.url, 60_000), 'added and widened columns').toEqual({});
    expect(await warehouseValue(`SELECT max(units_sold)::text AS v FROM star.fact_sales_order`)).toEqual({ v: '2000000000' });

    // The added column is in the raw archive (the change event), not in the warehouse.
    const archived = await waitFor('the added column in the archive', async () => (await archiveText(path.join(stateDir, 'buckets', 'ingestion'))).includes('"mobile_phone":"07700 900123"'), 30_000);
    expect(archived).toBe(true);
    const columns = await withClient(warehouse.url, async (c) => (await c.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'star' AND table_name = 'dim_location'`)).rows.map((r) => r.column_name));
    expect(columns).not.toContain('mobile_phone');

    // A value the widened source type allows but the warehouse's type does not: quarantined, named.
    await sql(`UPDATE sales_order SET units_sold = 3000000000 WHERE sales_order_id = (SELECT min(sales_order_id) FROM sales_order)`);

    // Losing columns the warehouse needs: a rename (design.design_name) and a drop (sales_order.agreed_payment_date).
    await sql(`ALTER TABLE design RENAME COLUMN design_name TO title`);
    await sql(`UPDATE design SET file_name = 'renamed.json' WHERE design_id = (SELECT min(design_id) FROM design)`);
    await sql(`ALTER TABLE sales_order DROP COLUMN agreed_payment_date`);
    await sql(`UPDATE sales_order SET units_sold = 7 WHERE sales_order_id = (SELECT max(sales_order_id) FROM sales_order)`);
    // Everything else keeps flowing.
    await sql(`UPDATE address SET city = 'Otley' WHERE address_id = (SELECT max(address_id) FROM address)`);
    await waitFor('the address change after the quarantined ones', async () => (await warehouseValue(`SELECT count(*)::int AS n FROM star.dim_location WHERE city = 'Otley'`)).n === 1, 60_000);

    const status = await runCli(['status', '--json', ...common], { timeoutMs: 60_000 });
    expect(status.code, status.stderr).toBe(0);
    const quarantine = JSON.parse(status.stdout).quarantine;
    expect(quarantine.objects).toBe(3);
    expect(quarantine.groups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: 'invalid-value', table: 'design', column: 'design_name', error: expect.stringMatching(/^design\.design_name: column missing from the source row; it was dropped or renamed/) }),
        expect.objectContaining({ reason: 'invalid-value', table: 'sales_order', column: 'agreed_payment_date' }),
        expect.objectContaining({ reason: 'invalid-value', table: 'sales_order', column: 'units_sold', error: 'sales_order.units_sold: expected a 32-bit integer, got …' }),
      ]),
    );
    const text = await runCli(['status', ...common], { timeoutMs: 60_000 });
    expect(text.stdout).toMatch(/quarantine {2}3 event\(s\) quarantined/);
    expect(text.stdout).toContain('design.design_name: column missing from the source row');
    // The warehouse kept the last good version of the renamed design row (not a NULL name).
    expect(await warehouseValue(`SELECT count(*)::int AS n FROM star.dim_design WHERE design_name IS NULL`)).toEqual({ n: 0 });

    expect(up.exitCode).toBeNull();
    process.kill(-up.pid!, 'SIGINT');
    await waitFor('up to stop', async () => up!.exitCode !== null, 30_000);
    expect(up.exitCode, upOutput).toBe(0);
  }, 240_000);
});

/** Every archived line under the ingestion bucket directory (gzip NDJSON objects). */
async function archiveText(dir: string): Promise<string> {
  let text = '';
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await fs.readFile(file);
    text += bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  }
  return text;
}
