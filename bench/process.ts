/**
 * Stream-processor benchmark (`npm run bench:process`, or `tsx bench/process.ts [--events N]
 * [--batch N] [--writer-rows N]`).
 *
 * 1. N synthetic change events (default 1,000,000) in a realistic totesys mix — sales orders,
 *    purchase orders, transactions, payments with "paid" flips, a few design/staff/department/
 *    counterparty/address/currency changes — through processEvents in batches (default 10,000):
 *    transform + join state (embedded, on disk) + Parquet encoding + sha256 + manifest. The bucket is
 *    an in-memory sink that only counts bytes, so the number is the processor's, not the disk's.
 * 2. Writer comparison on the same fact_sales_order rows: our codec (encodeWarehouseParquet: a flat
 *    writer giving hyparquet-writer 0.17's exact bytes, parquet/parquet-flat-writer.ts) vs parquetjs-lite's ParquetWriter with an equivalent schema (money as
 *    INT64 cents since parquetjs-lite has no DECIMAL; SNAPPY like ours), rows/s and the ratio.
 *    BENCH_PROCESS_SKIP_WRITERS=1 skips it (when only the processor's own figure is of interest).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { ObjectInfo, ObjectStore } from '../bucket/object-store.js';
import type { ChangeEvent, ChangeOp, Row } from '../contracts/change-event.js';
import { formatLsn } from '../contracts/lsn.js';
import { silentLogger } from '../platform/logger.js';
import { PRIMARY_KEYS, type SourceTable } from '../contracts/source-tables.js';
import { encodeWarehouseParquet } from '../parquet/warehouse-parquet.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { processEvents } from '../stream-processors/process-batch.js';
import { CountingMetrics } from '../test/support/counting-metrics.js';
import { LocalJoinStateStore } from '../stream-processors/state/local-join-state-store.js';
import { factSalesOrderRow } from '../stream-processors/transform/fact-sales-order.js';

const require = createRequire(import.meta.url);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const EVENTS = arg('events', 1_000_000);
const BATCH = arg('batch', 10_000);
const WRITER_ROWS = arg('writer-rows', 200_000);

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

class SyntheticTotesys {
  private readonly random = prng(42);
  private lsn = 0x16b0000n;
  private ms = Date.UTC(2022, 10, 3, 8);
  private readonly ids: Record<string, number> = {};
  private readonly payments: Row[] = [];
  private readonly sales: Row[] = [];

  private int(max: number) {
    return 1 + Math.floor(this.random() * max);
  }
  private money(max: number) {
    return `${Math.floor(this.random() * max)}.${pad(Math.floor(this.random() * 100))}`;
  }
  private timestamp() {
    this.ms += 1000 + Math.floor(this.random() * 60_000);
    return new Date(this.ms).toISOString().slice(0, 23);
  }
  private date(offsetDays: number) {
    return new Date(this.ms + offsetDays * 86_400_000).toISOString().slice(0, 10);
  }
  private next(table: SourceTable) {
    return (this.ids[table] = (this.ids[table] ?? 0) + 1);
  }

  private event(table: SourceTable, op: ChangeOp, row: Row, seq: number): ChangeEvent {
    const commitLsn = formatLsn(this.lsn);
    return {
      v: 1,
      id: `${commitLsn}/${seq}`,
      op,
      table,
      key: { [PRIMARY_KEYS[table]]: row[PRIMARY_KEYS[table]] },
      before: null,
      after: row,
      source: { lsn: commitLsn, commitLsn, xid: 1, commitTs: new Date(this.ms).toISOString(), snapshot: false },
    };
  }

  /** One transaction's events. */
  *transaction(): Generator<ChangeEvent> {
    this.lsn += 0x200n;
    const now = this.timestamp();
    const r = this.random();
    if (r < 0.34) {
      const id = this.next('sales_order');
      const sale: Row = {
        sales_order_id: id, created_at: now, last_updated: now, design_id: this.int(470), staff_id: this.int(20), counterparty_id: this.int(20),
        units_sold: this.int(100_000), unit_price: this.money(5), currency_id: this.int(3), agreed_delivery_date: this.date(5), agreed_payment_date: this.date(4), agreed_delivery_location_id: this.int(30),
      };
      this.sales.push(sale);
      const transactionId = this.next('transaction');
      const payment: Row = {
        payment_id: this.next('payment'), created_at: now, last_updated: now, transaction_id: transactionId, counterparty_id: sale.counterparty_id, payment_amount: this.money(500_000),
        currency_id: sale.currency_id, payment_type_id: 1, paid: false, payment_date: this.date(4), company_ac_number: 67305075, counterparty_ac_number: 31622269,
      };
      this.payments.push(payment);
      yield this.event('sales_order', 'c', sale, 0);
      yield this.event('transaction', 'c', { transaction_id: transactionId, transaction_type: 'SALE', sales_order_id: id, purchase_order_id: null, created_at: now, last_updated: now }, 1);
      yield this.event('payment', 'c', payment, 2);
    } else if (r < 0.5) {
      const id = this.next('purchase_order');
      const order: Row = {
        purchase_order_id: id, created_at: now, last_updated: now, staff_id: this.int(20), counterparty_id: this.int(20), item_code: `ITEM${this.int(9999)}`, item_quantity: this.int(1000),
        item_unit_price: this.money(1000), currency_id: this.int(3), agreed_delivery_date: this.date(6), agreed_payment_date: this.date(3), agreed_delivery_location_id: this.int(30),
      };
      const transactionId = this.next('transaction');
      yield this.event('purchase_order', 'c', order, 0);
      yield this.event('transaction', 'c', { transaction_id: transactionId, transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: id, created_at: now, last_updated: now }, 1);
      yield this.event('payment', 'c', {
        payment_id: this.next('payment'), created_at: now, last_updated: now, transaction_id: transactionId, counterparty_id: order.counterparty_id, payment_amount: this.money(500_000),
        currency_id: order.currency_id, payment_type_id: 3, paid: false, payment_date: this.date(3), company_ac_number: 1, counterparty_ac_number: 2,
      }, 2);
    } else if (r < 0.8 && this.payments.length > 0) {
      // The daily job flips paid for due payments (bumping last_updated).
      const payment = this.payments[Math.floor(this.random() * this.payments.length)];
      yield this.event('payment', 'u', { ...payment, paid: true, last_updated: now }, 0);
    } else if (r < 0.95 && this.sales.length > 0) {
      // Silent update: staff/design/delivery changes without last_updated changing.
      const sale = this.sales[Math.floor(this.random() * this.sales.length)];
      yield this.event('sales_order', 'u', { ...sale, staff_id: this.int(20), design_id: this.int(470) }, 0);
    } else if (r < 0.985) {
      yield this.event('design', 'u', { design_id: this.int(470), created_at: now, last_updated: now, design_name: 'Wooden', file_location: `/usr/${this.int(50)}`, file_name: `wooden-${this.int(9999)}.json` }, 0);
    } else if (r < 0.99) {
      yield this.event('currency', 'u', { currency_id: this.int(3), currency_code: ['GBP', 'USD', 'EUR'][Math.floor(this.random() * 3)], created_at: now, last_updated: now }, 0);
    } else if (r < 0.993) {
      yield this.event('staff', 'u', { staff_id: this.int(20), first_name: 'Jeremie', last_name: 'Franey', department_id: this.int(8), email_address: 'j@terrifictotes.com', created_at: now, last_updated: now }, 0);
    } else if (r < 0.995) {
      yield this.event('department', 'u', { department_id: this.int(8), department_name: 'Sales', location: 'Manchester', manager: 'R', created_at: now, last_updated: now }, 0);
    } else if (r < 0.998) {
      yield this.event('counterparty', 'u', { counterparty_id: this.int(20), counterparty_legal_name: 'Fahey and Sons', legal_address_id: this.int(30), commercial_contact: null, delivery_contact: null, created_at: now, last_updated: now }, 0);
    } else {
      yield this.event('address', 'u', { address_id: this.int(30), address_line_1: '6826 Herzog Via', address_line_2: null, district: null, city: 'Leeds', postal_code: 'LS1', country: 'UK', phone: '0113', created_at: now, last_updated: now }, 0);
    }
  }

  *events(count: number): Generator<ChangeEvent> {
    let n = 0;
    while (n < count) {
      for (const event of this.transaction()) {
        if (n++ >= count) return;
        yield event;
      }
    }
  }
}

/** A bucket that keeps nothing: counts objects and bytes. */
class SinkObjectStore implements ObjectStore {
  readonly location = 'memory://sink';
  objects = 0;
  bytes = 0;
  async put(_key: string, body: Uint8Array | string) {
    this.objects++;
    this.bytes += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  }
  async get(key: string): Promise<Uint8Array> {
    throw new Error(`sink has no ${key}`);
  }
  async exists() {
    return false;
  }
  async *list(): AsyncIterable<ObjectInfo> {}
  async delete() {}
}

const rssMb = () => process.resourceUsage().maxRSS / 1024;

async function benchProcess(dir: string) {
  const state = await LocalJoinStateStore.open(path.join(dir, 'state'), silentLogger);
  const sink = new SinkObjectStore();
  const metrics = new CountingMetrics();
  const generator = new SyntheticTotesys().events(EVENTS);
  let generateMs = 0;
  let processMs = 0;
  let batches = 0;
  const cpuStart = process.cpuUsage();
  for (;;) {
    const t0 = performance.now();
    const batch: ChangeEvent[] = [];
    // next() rather than for-of: breaking a for-of would close the generator.
    for (let next = generator.next(); !next.done; next = generator.next()) {
      batch.push(next.value);
      if (batch.length >= BATCH) break;
    }
    const t1 = performance.now();
    generateMs += t1 - t0;
    if (batch.length === 0) break;
    await processEvents(batch, { state, processed: sink, logger: silentLogger, metrics });
    processMs += performance.now() - t1;
    batches++;
  }
  await state.close();
  const cpu = process.cpuUsage(cpuStart);
  return { events: metrics.get('eventsProcessed'), batches, processMs, generateMs, cpuMs: (cpu.user + cpu.system) / 1000, objects: sink.objects, bytes: sink.bytes };
}

function salesRows(count: number): WarehouseRow[] {
  const rows: WarehouseRow[] = [];
  for (const event of new SyntheticTotesys().events(count * 4)) {
    if (event.table === 'sales_order') rows.push(factSalesOrderRow(event));
    if (rows.length >= count) break;
  }
  return rows;
}

async function benchWriters(dir: string, rows: WarehouseRow[]) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const ours = encodeWarehouseParquet('fact_sales_order', rows);
  const oursMs = performance.now() - t0;
  const oursCpu = process.cpuUsage(c0);

  const parquet = require('parquetjs-lite');
  const int = { type: 'INT32', compression: 'SNAPPY' };
  const schema = new parquet.ParquetSchema({
    sales_order_id: int, created_date: { type: 'DATE', compression: 'SNAPPY' }, created_time: { type: 'TIME_MILLIS', compression: 'SNAPPY' },
    last_updated_date: { type: 'DATE', compression: 'SNAPPY' }, last_updated_time: { type: 'TIME_MILLIS', compression: 'SNAPPY' },
    sales_staff_id: int, counterparty_id: int, units_sold: int, unit_price: { type: 'INT64', compression: 'SNAPPY' }, currency_id: int, design_id: int,
    agreed_payment_date: { type: 'DATE', compression: 'SNAPPY' }, agreed_delivery_date: { type: 'DATE', compression: 'SNAPPY' }, agreed_delivery_location_id: int,
    event_id: { type: 'UTF8', compression: 'SNAPPY' }, op: { type: 'UTF8', compression: 'SNAPPY' }, source_lsn: { type: 'INT64', compression: 'SNAPPY' },
    source_seq: int, commit_ts: { type: 'TIMESTAMP_MILLIS', compression: 'SNAPPY' },
  });
  const file = path.join(dir, 'parquetjs-lite.parquet');
  const toDate = (d: unknown) => new Date(`${d as string}T00:00:00Z`);
  const toMillis = (t: unknown) => {
    const [h, m, s] = (t as string).split(':');
    return (Number(h) * 60 + Number(m)) * 60_000 + Math.round(Number(s) * 1000);
  };
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const writer = await parquet.ParquetWriter.openFile(schema, file, { rowGroupSize: 100_000 });
  for (const row of rows) {
    await writer.appendRow({
      ...row,
      created_date: toDate(row.created_date), last_updated_date: toDate(row.last_updated_date), agreed_payment_date: toDate(row.agreed_payment_date), agreed_delivery_date: toDate(row.agreed_delivery_date),
      created_time: toMillis(row.created_time), last_updated_time: toMillis(row.last_updated_time),
      unit_price: Math.round(Number(row.unit_price) * 100), source_lsn: Number(row.source_lsn), commit_ts: new Date(row.commit_ts as string),
    });
  }
  await writer.close();
  const theirsMs = performance.now() - t1;
  const theirsCpu = process.cpuUsage(c1);
  const theirsBytes = (await fs.stat(file)).size;
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  return { oursMs, oursBytes: ours.byteLength, theirsMs, theirsBytes, oursCpuMs: cpuMs(oursCpu), theirsCpuMs: cpuMs(theirsCpu) };
}

async function main() {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-process-'));
  try {
    console.log(`stream-processor benchmark: ${EVENTS.toLocaleString('en')} events, batches of ${BATCH.toLocaleString('en')}, node ${process.version}, ${os.cpus().length} cpu`);
    const p = await benchProcess(dir);
    const eventsPerSec = (p.events / p.processMs) * 1000;
    console.log(
      `processEvents: ${p.events.toLocaleString('en')} events in ${p.batches} batches, ${(p.processMs / 1000).toFixed(1)} s → ${Math.round(eventsPerSec).toLocaleString('en')} events/s ` +
        `(${p.objects} objects, ${(p.bytes / 1e6).toFixed(1)} MB written; event generation ${(p.generateMs / 1000).toFixed(1)} s excluded); peak RSS ${rssMb().toFixed(0)} MB; ` +
        `CPU time incl. generation ${(p.cpuMs / 1000).toFixed(1)} s → ${Math.round((p.events / p.cpuMs) * 1000).toLocaleString('en')} events per CPU-second (load ${os.loadavg()[0].toFixed(1)})`,
    );
    if (process.env.BENCH_PROCESS_SKIP_WRITERS === '1') return;
    const rows = salesRows(WRITER_ROWS);
    const w = await benchWriters(dir, rows);
    const ours = (rows.length / w.oursMs) * 1000;
    const theirs = (rows.length / w.theirsMs) * 1000;
    console.log(`writer, ${rows.length.toLocaleString('en')} fact_sales_order rows:`);
    console.log(`  ours (encodeWarehouseParquet):             ${(w.oursMs / 1000).toFixed(2)} s, ${Math.round(ours).toLocaleString('en')} rows/s, ${(w.oursBytes / 1e6).toFixed(1)} MB`);
    console.log(`  parquetjs-lite ParquetWriter:              ${(w.theirsMs / 1000).toFixed(2)} s, ${Math.round(theirs).toLocaleString('en')} rows/s, ${(w.theirsBytes / 1e6).toFixed(1)} MB`);
    console.log(`  ratio: ours is ${(ours / theirs).toFixed(1)}x parquetjs-lite by wall clock, ${(w.theirsCpuMs / w.oursCpuMs).toFixed(1)}x by CPU time; peak RSS ${rssMb().toFixed(0)} MB`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
