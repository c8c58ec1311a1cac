import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import type { ObjectStore } from '../../bucket/object-store.js';
import { serializeChangeEvent, type ChangeEvent, type Row } from '../../contracts/change-event.js';
import { formatLsn } from '../../contracts/lsn.js';
import type { SourceTable } from '../../contracts/source-tables.js';
import { changeObjectKey } from '../../archive/archive-layout.js';
import { type Logger, silentLogger } from '../../platform/logger.js';
import { changeEvent, sourceRow } from './change-event-factory.js';
import { mulberry32 } from './seeded-random.js';

/**
 * A synthetic but realistic change history for archive and replay tests and the replay benchmark:
 * a snapshot of the dimension tables, then transactions like the totesys workload (a sale or
 * purchase inserts order + transaction + payment in one transaction; orders get updated, payments
 * flipped to paid, dimension rows edited, a few orders deleted). Deterministic for a seed.
 */
export interface ArchivedEvent {
  event: ChangeEvent;
  /** The record's bytes on the stream (and in the archive, plus '\n'). */
  text: string;
  arrivalMs: number;
}


const iso = (ms: number) => new Date(ms).toISOString();
const localTs = (ms: number) => iso(ms).slice(0, 23); // timestamp without zone
const day = (ms: number) => iso(ms).slice(0, 10);

export function generateWorkload(count: number, options: { seed?: number; startMs?: number; secondsBetweenTransactions?: number } = {}): ArchivedEvent[] {
  const random = mulberry32(options.seed ?? 7);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  let clock = options.startMs ?? Date.parse('2026-11-22T08:00:00.000Z');
  const gapMs = (options.secondsBetweenTransactions ?? 2) * 1000;
  let lsn = 0x1000000n;
  const out: ArchivedEvent[] = [];
  const rows = new Map<string, Row>();
  const push = (event: ChangeEvent, arrivalMs: number) => {
    out.push({ event, text: serializeChangeEvent(event), arrivalMs });
  };

  // Snapshot: one consistent point.
  const snapshotLsn = formatLsn(lsn);
  const snapshotTs = iso(clock);
  const dims: Array<[SourceTable, number]> = [['currency', 3], ['department', 8], ['address', 30], ['counterparty', 20], ['staff', 20], ['payment_type', 4], ['design', 50]];
  const codes = ['GBP', 'USD', 'EUR'];
  const paymentTypes = ['SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND'];
  for (const [table, n] of dims) {
    for (let id = 1; id <= n; id++) {
      const overrides: Row =
        table === 'currency' ? { currency_id: id, currency_code: codes[id - 1]! }
        : table === 'department' ? { department_id: id, department_name: `Department ${id}` }
        : table === 'address' ? { address_id: id, city: `City ${id}` }
        : table === 'counterparty' ? { counterparty_id: id, legal_address_id: int(1, 30), counterparty_legal_name: `Counterparty ${id}` }
        : table === 'staff' ? { staff_id: id, department_id: int(1, 8), first_name: `First${id}` }
        : table === 'payment_type' ? { payment_type_id: id, payment_type_name: paymentTypes[id - 1]! }
        : { design_id: id, design_name: `Design ${id}` };
      const row = sourceRow[table](overrides);
      rows.set(`${table}:${id}`, row);
      if (out.length < count) push(changeEvent(table, 'r', row, { lsn: snapshotLsn, commitTs: snapshotTs, snapshot: true }), clock + 10);
    }
  }

  let nextSale = 1;
  let nextPurchase = 1;
  let nextTransaction = 1;
  let nextPayment = 1;
  while (out.length < count) {
    clock += int(gapMs / 2, (gapMs * 3) / 2);
    lsn += BigInt(int(0x200, 0x2000));
    const commitLsn = formatLsn(lsn);
    const commitTs = iso(clock);
    const ts = localTs(clock);
    const arrival = clock + int(5, 200);
    let seq = 0;
    const emit = (table: SourceTable, op: 'c' | 'u' | 'd', row: Row, before: Row | null = null) => {
      if (out.length >= count) return;
      push(changeEvent(table, op, row, { lsn: commitLsn, seq: seq++, commitTs, before }), arrival);
    };
    const roll = random();
    if (roll < 0.6) {
      const sale = roll < 0.42;
      const orderTable: SourceTable = sale ? 'sales_order' : 'purchase_order';
      const orderId = sale ? nextSale++ : nextPurchase++;
      const common = { created_at: ts, last_updated: ts, staff_id: int(1, 20), counterparty_id: int(1, 20), currency_id: int(1, 3), agreed_delivery_date: day(clock + 5 * 86_400_000), agreed_payment_date: day(clock + 3 * 86_400_000), agreed_delivery_location_id: int(1, 30) };
      const order = sale
        ? sourceRow.sales_order({ ...common, sales_order_id: orderId, design_id: int(1, 50), units_sold: int(1000, 100000), unit_price: `${int(2, 4)}.${String(int(0, 99)).padStart(2, '0')}` })
        : sourceRow.purchase_order({ ...common, purchase_order_id: orderId, item_code: `ITEM${int(100, 999)}`, item_quantity: int(1, 1000), item_unit_price: `${int(1, 999)}.${String(int(0, 99)).padStart(2, '0')}` });
      rows.set(`${orderTable}:${orderId}`, order);
      emit(orderTable, 'c', order);
      const transactionId = nextTransaction++;
      const transaction = sourceRow.transaction({ transaction_id: transactionId, transaction_type: sale ? 'SALE' : 'PURCHASE', sales_order_id: sale ? orderId : null, purchase_order_id: sale ? null : orderId, created_at: ts, last_updated: ts });
      emit('transaction', 'c', transaction);
      const paymentId = nextPayment++;
      const payment = sourceRow.payment({ payment_id: paymentId, transaction_id: transactionId, counterparty_id: common.counterparty_id, currency_id: common.currency_id, payment_type_id: sale ? 1 : 3, paid: false, payment_date: day(clock + 3 * 86_400_000), payment_amount: `${int(100, 99999)}.${String(int(0, 99)).padStart(2, '0')}`, created_at: ts, last_updated: ts });
      rows.set(`payment:${paymentId}`, payment);
      emit('payment', 'c', payment);
    } else if (roll < 0.78 && nextSale > 1) {
      const id = int(1, nextSale - 1);
      const before = rows.get(`sales_order:${id}`);
      if (!before) continue;
      // Some totesys updates do not bump last_updated (staff/design changes): CDC sees them anyway.
      const after = { ...before, staff_id: int(1, 20), units_sold: int(1000, 100000), ...(random() < 0.5 ? { last_updated: ts } : {}) };
      rows.set(`sales_order:${id}`, after);
      emit('sales_order', 'u', after, before);
    } else if (roll < 0.93 && nextPayment > 1) {
      const id = int(1, nextPayment - 1);
      const before = rows.get(`payment:${id}`);
      if (!before) continue;
      const after = { ...before, paid: !before.paid, last_updated: ts };
      rows.set(`payment:${id}`, after);
      emit('payment', 'u', after, before);
    } else if (roll < 0.98) {
      const [table, key, change]: [SourceTable, string, Row] =
        roll < 0.95 ? ['design', `design:${int(1, 50)}`, { file_location: `/srv/${int(1, 9)}` }]
        : roll < 0.965 ? ['staff', `staff:${int(1, 20)}`, { department_id: int(1, 8), last_updated: ts }]
        : ['address', `address:${int(1, 30)}`, { phone: `0${int(1000000000, 1999999999)}`, last_updated: ts }];
      const before = rows.get(key)!;
      const after = { ...before, ...change };
      rows.set(key, after);
      emit(table, 'u', after, before);
    } else if (nextSale > 1) {
      const id = int(1, nextSale - 1);
      const before = rows.get(`sales_order:${id}`);
      if (!before) continue;
      rows.delete(`sales_order:${id}`);
      emit('sales_order', 'd', before);
    }
  }
  return out;
}

/**
 * Writes events as Firehose would: per table and arrival hour, `eventsPerObject` per object, GZIP
 * NDJSON, keys from archive-layout.ts. Returns the keys written.
 */
export async function writeArchive(store: ObjectStore, events: readonly ArchivedEvent[], eventsPerObject: number): Promise<string[]> {
  const groups = new Map<string, ArchivedEvent[]>();
  for (const item of events) {
    const hour = Math.floor(item.arrivalMs / 3_600_000);
    const id = `${item.event.table}@${hour}`;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = []));
    group.push(item);
  }
  const keys: string[] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += eventsPerObject) {
      const chunk = group.slice(i, i + eventsPerObject);
      keys.push(await putObject(store, chunk));
    }
  }
  return keys;
}

/** An ingestion bucket (the local directory `dir/name`) holding `events` as Firehose would have archived them. */
export async function ingestionBucketWith(dir: string, events: readonly ArchivedEvent[], eventsPerObject: number, name = 'ingestion'): Promise<LocalDirObjectStore> {
  const ingestion = new LocalDirObjectStore(path.join(dir, name));
  await writeArchive(ingestion, events, eventsPerObject);
  return ingestion;
}

/**
 * What the replay tests on a warehouse testbed start from: `count` events of the workload, their
 * transactions 10 s of commit time apart, archived `eventsPerObject` to an object in `<dir>/ingestion`.
 */
export async function archivedWorkload(dir: string, count: number, eventsPerObject: number): Promise<{ events: ArchivedEvent[]; ingestion: LocalDirObjectStore }> {
  const events = generateWorkload(count, { secondsBetweenTransactions: 10 });
  return { events, ingestion: await ingestionBucketWith(dir, events, eventsPerObject) };
}

/** Where a replay test's run goes: a processed bucket `<dir>/<processedName>`, the testbed's warehouse, a silent logger. */
export function replayTarget(testbed: { db: { url: string }; dir: string }, processedName = 'processed'): { processed: LocalDirObjectStore; warehouseUrl: string; logger: Logger } {
  return { processed: new LocalDirObjectStore(path.join(testbed.dir, processedName)), warehouseUrl: testbed.db.url, logger: silentLogger };
}

/** One archive object holding `items` (all of one table), keyed by the first item's arrival. */
export async function putObject(store: ObjectStore, items: readonly ArchivedEvent[], arrivalMs = items[0]!.arrivalMs): Promise<string> {
  const body = Buffer.from(items.map((item) => item.text + '\n').join(''));
  const key = changeObjectKey(items[0]!.event.table, arrivalMs, body);
  await store.put(key, gzipSync(body));
  return key;
}

/**
 * A workload one of whose design rows holds a value the processor accepts but Postgres cannot store
 * (text never holds NUL there): the COPY of the manifest carrying it fails.
 */
export function workloadWithUnstorableValue(count: number): ArchivedEvent[] {
  const events = generateWorkload(count, { secondsBetweenTransactions: 10 });
  const poisoned = events.filter((e) => e.event.table === 'design' && e.event.after)[3]!;
  poisoned.event = { ...poisoned.event, after: { ...poisoned.event.after, design_name: 'bad\u0000name' } };
  poisoned.text = JSON.stringify(poisoned.event);
  return events;
}

/** The design name workloadWithRejectedValue plants; rejectDesignNamesInWarehouse makes the warehouse refuse it. */
export const REJECTED_DESIGN_NAME = 'rejected-by-the-warehouse';

/**
 * A workload with one design whose name the processor accepts (plain text) but the warehouse will
 * refuse once rejectDesignNamesInWarehouse ran: a manifest that fails at COPY. (A NUL no longer
 * does: the processor quarantines it, issue 17 point 3.)
 */
export function workloadWithRejectedValue(count: number): ArchivedEvent[] {
  const events = generateWorkload(count, { secondsBetweenTransactions: 10 });
  const poisoned = events.filter((e) => e.event.table === 'design' && e.event.after)[3]!;
  poisoned.event = { ...poisoned.event, after: { ...poisoned.event.after, design_name: REJECTED_DESIGN_NAME } };
  poisoned.text = JSON.stringify(poisoned.event);
  return events;
}

/**
 * In the database behind `client`, every table created from now on whose name contains
 * `dim_design` (the dimension and a rebuild's collection table) refuses REJECTED_DESIGN_NAME, via
 * an event trigger (the rebuild creates its schema itself). Returns the undo.
 */
export async function rejectDesignNamesInWarehouse(client: { query(sql: string): Promise<unknown> }): Promise<() => Promise<void>> {
  await client.query(`CREATE OR REPLACE FUNCTION t_reject_design_name() RETURNS event_trigger LANGUAGE plpgsql AS $$
    DECLARE r record;
    BEGIN
      FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' LOOP
        IF r.object_identity LIKE '%dim_design%' THEN
          EXECUTE format('ALTER TABLE %s ADD CHECK (design_name IS DISTINCT FROM %L)', r.object_identity, '${REJECTED_DESIGN_NAME}');
        END IF;
      END LOOP;
    END $$`);
  await client.query('CREATE EVENT TRIGGER t_reject_design_name ON ddl_command_end WHEN TAG IN (\'CREATE TABLE\') EXECUTE FUNCTION t_reject_design_name()');
  return async () => {
    await client.query('DROP EVENT TRIGGER IF EXISTS t_reject_design_name');
    await client.query('DROP FUNCTION IF EXISTS t_reject_design_name()');
  };
}
