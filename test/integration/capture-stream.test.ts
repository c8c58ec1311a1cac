import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCapture, type CaptureResult } from '../../capture/run-capture.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { parseLsn } from '../../contracts/lsn.js';
import { silentLogger } from '../../platform/logger.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { RecordingWriter } from '../support/capture-recorder.js';
import { createTotesysSchema, seedParents } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';

const names = { slotName: 'cap_stream', publicationName: 'cap_stream' };

describe('capture: streaming decode of every op and type', () => {
  let db: TestDatabase;
  const writer = new RecordingWriter();
  const abort = new AbortController();
  let running: Promise<CaptureResult>;

  beforeAll(async () => {
    db = await createTestDatabase('capture stream');
    await createTotesysSchema(db.url);
    await seedParents(db.url);
    running = runCapture({
      sourceUrl: db.url,
      config: { capture: { ...names, replicaIdentityFull: true, heartbeatIntervalMs: 500 } },
      writer,
      logger: silentLogger,
      signal: abort.signal,
    });
    // parents: 1 address, 1 counterparty, 3 currency, 1 department, 1 design, 2 payment_type, 1 staff
    await waitFor(() => writer.events().length >= 10, { what: 'snapshot events' });
  });

  afterAll(async () => {
    abort.abort();
    await running?.catch(() => undefined);
    await db?.drop();
  });

  it('emits the snapshot as r events at the slot consistent point', async () => {
    const events = writer.events();
    expect(events).toHaveLength(10);
    const currency = events.filter((e) => e.table === 'currency').map((e) => e.after!.currency_code);
    expect(currency.sort()).toEqual(['EUR', 'GBP', 'USD']);
    const staff = events.find((e) => e.table === 'staff')!;
    expect(staff.op).toBe('r');
    expect(staff.key).toEqual({ staff_id: 1 });
    expect(staff.id).toBe(`snapshot/staff/1@${staff.source.lsn}`);
    expect(staff.source).toMatchObject({ snapshot: true, xid: null, commitLsn: staff.source.lsn });
    expect(staff.after!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);
    expect(new Set(events.map((e) => e.source.lsn)).size).toBe(1);
  });

  it('decodes insert, update and delete with exact values', async () => {
    const before = writer.events().length;
    await withClient(db.url, async (c) => {
      await c.query('BEGIN');
      await c.query(`INSERT INTO sales_order (sales_order_id, created_at, last_updated, design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
        agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
        VALUES (42, '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962', 1, 1, 1, 7, 3.94, 1, '2022-11-10', '2022-11-09', 1)`);
      await c.query(`INSERT INTO transaction (transaction_id, transaction_type, sales_order_id, purchase_order_id) VALUES (5, 'SALE', 42, NULL)`);
      await c.query(`INSERT INTO payment (payment_id, transaction_id, counterparty_id, payment_amount, currency_id, payment_type_id, paid, payment_date,
        company_ac_number, counterparty_ac_number) VALUES (9, 5, 1, 1234567.80, 1, 1, false, '2022-11-09', 12345678, 87654321)`);
      await c.query('COMMIT');
      await c.query(`UPDATE payment SET paid = true, last_updated = '2023-01-01 00:00:00' WHERE payment_id = 9`);
      await c.query(`UPDATE address SET address_line_2 = $1, district = NULL WHERE address_id = 1`, [`O'Brien "Flat" 5 — Zoë 🚀`]);
      await c.query('DELETE FROM payment WHERE payment_id = 9');
    });
    await waitFor(() => writer.events().length >= before + 6, { what: 'stream events' });
    const events = writer.events().slice(before);
    expect(events.map((e) => `${e.op}:${e.table}`)).toEqual(['c:sales_order', 'c:transaction', 'c:payment', 'u:payment', 'u:address', 'd:payment']);

    const [order, txn, payment, paid, address, deleted] = events;
    // One transaction: one commit LSN, ids numbered from 0 in change order.
    expect([order.id, txn.id, payment.id]).toEqual([0, 1, 2].map((n) => `${order.source.commitLsn}/${n}`));
    expect(order.source.xid).toBe(txn.source.xid);
    expect(parseLsn(order.source.lsn) < parseLsn(txn.source.lsn)).toBe(true);
    expect(order.source.commitTs).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(order.after).toMatchObject({
      sales_order_id: 42,
      created_at: '2022-11-03T14:20:49.962',
      unit_price: '3.94',
      units_sold: 7,
      agreed_delivery_date: '2022-11-10',
    });
    expect(order.key).toEqual({ sales_order_id: 42 });
    expect(order.before).toBeNull();
    expect(txn.after).toMatchObject({ transaction_type: 'SALE', sales_order_id: 42, purchase_order_id: null });
    expect(payment.after).toMatchObject({ payment_amount: '1234567.80', paid: false, company_ac_number: 12345678 });

    expect(paid.before).toMatchObject({ paid: false, last_updated: payment.after!.last_updated });
    expect(paid.after).toMatchObject({ paid: true, last_updated: '2023-01-01T00:00:00' });
    expect(paid.id).toBe(`${paid.source.commitLsn}/0`);

    expect(address.after).toMatchObject({ address_line_2: `O'Brien "Flat" 5 — Zoë 🚀`, district: null, city: 'Leeds' });
    expect(address.before).toMatchObject({ address_line_2: null });

    expect(deleted.op).toBe('d');
    expect(deleted.after).toBeNull();
    expect(deleted.before).toMatchObject({ payment_id: 9, paid: true, payment_amount: '1234567.80' });
    expect(deleted.key).toEqual({ payment_id: 9 });
  });

  it('follows added and dropped columns without a restart', async () => {
    const before = writer.events().length;
    await withClient(db.url, async (c) => {
      await c.query('ALTER TABLE design ADD COLUMN colour varchar');
      await c.query(`INSERT INTO design (design_id, design_name, file_location, file_name, colour) VALUES (2, 'Wood', '/opt', 'wood.json', 'red')`);
      await c.query('ALTER TABLE design DROP COLUMN colour');
      await c.query(`UPDATE design SET file_location = '/srv' WHERE design_id = 2`);
    });
    await waitFor(() => writer.events().length >= before + 2, { what: 'design events' });
    const [added, updated] = writer.events().slice(before);
    expect(added.after).toMatchObject({ design_id: 2, colour: 'red' });
    expect(updated.after).toMatchObject({ design_id: 2, file_location: '/srv' });
    expect(updated.after).not.toHaveProperty('colour');
  });

  it('confirms up to the last commit and returns on abort', async () => {
    await waitForCaptureToCatchUp(db.url, names, { what: 'confirmed_flush_lsn to pass the last commit', timeoutMs: 15_000 });
    const status = await readSlotStatus(db.url, names.slotName, names.publicationName);
    expect(status).toMatchObject({ exists: true, active: true, snapshot: 'complete', walStatus: 'reserved' });
    abort.abort();
    const result = await running;
    expect(result.reason).toBe('signal');
    expect(result.eventsPublished).toBe(writer.events().length);
    const ids = writer.events().map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
