import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

/**
 * Issue 14 item 8: a sales order whose agreed_delivery_date (TEXT in the real source) is not a date
 * is quarantined by the transform; `sync` must count it and exit 3 (README: partial success).
 */
describe('sync counts quarantined events', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let args: string[];

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('quarantine count source'), createTestDatabase('quarantine count warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-quarantine-'));
    const slot = `qc_${randomBytes(4).toString('hex')}`;
    args = ['--state-dir', stateDir, '--source-url', source.url, '--warehouse-url', warehouse.url, '--slot-name', slot, '--publication-name', slot, '--heartbeat-interval-ms', '1000'];
    const seeded = await runCli(['seed', '--create-source-schema', '--scale', '0.01', ...args], { timeoutMs: 60_000 });
    expect(seeded.code, seeded.stderr).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([source?.drop(), warehouse?.drop()]);
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('prints the count and exits 3, in the snapshot and while streaming', async () => {
    await withClient(source.url, (c) =>
      c.query(`INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
               SELECT min(design_id), min(staff_id), min(counterparty_id), 1, 1.5, min(currency_id), 'next Tuesday', '2024-01-03', min(address_id)
                 FROM design, staff, counterparty, currency, address`),
    );
    const first = await runCli(['sync', ...args], { timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(3);
    expect(JSON.parse(first.stdout)).toMatchObject({ eventsQuarantined: 1, quarantinedTotal: 1 });

    // Streamed (not snapshot) this time.
    await withClient(source.url, (c) => c.query(`UPDATE sales_order SET units_sold = units_sold + 1 WHERE agreed_delivery_date = 'next Tuesday'`));
    const second = await runCli(['sync', ...args], { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(3);
    expect(JSON.parse(second.stdout)).toMatchObject({ eventsQuarantined: 1, quarantinedTotal: 2 });

    // Nothing new: exit 0, and the total still says what is waiting in quarantine/.
    const third = await runCli(['sync', ...args], { timeoutMs: 120_000 });
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ eventsQuarantined: 0, quarantinedTotal: 2 });

    // status shows the quarantine too: how many, and which table and column, without the value.
    const status = await runCli(['status', '--json', ...args], { timeoutMs: 60_000 });
    expect(status.code, status.stderr).toBe(0);
    const quarantine = JSON.parse(status.stdout).quarantine;
    expect(quarantine.objects).toBe(2);
    expect(quarantine.groups).toEqual([
      expect.objectContaining({ reason: 'invalid-value', table: 'sales_order', column: 'agreed_delivery_date', count: 2 }),
    ]);
    expect(status.stdout).not.toContain('next Tuesday');
    const text = await runCli(['status', ...args], { timeoutMs: 60_000 });
    expect(text.stdout).toMatch(/quarantine {2}2 event\(s\) quarantined/);
    expect(text.stdout).toContain('2× invalid-value: sales_order.agreed_delivery_date: expected a YYYY-MM-DD calendar date, got "…"');
  }, 240_000);
});
