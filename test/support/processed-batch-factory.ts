import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import type { ObjectStore } from '../../bucket/object-store.js';
import { MANIFEST_VERSION, type BatchManifest, type ManifestFile } from '../../contracts/manifest.js';
import type { WarehouseTable } from '../../contracts/warehouse-model.js';
import { encodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';

/**
 * Fixture factory for the loader: warehouse rows → Parquet files + a manifest in a temp
 * LocalDirObjectStore, laid out as the processor lays them out.
 */
export interface ProcessedBucket {
  store: LocalDirObjectStore;
  dir: string;
  cleanup(): Promise<void>;
}

export async function createProcessedBucket(): Promise<ProcessedBucket> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'processed-'));
  return { store: new LocalDirObjectStore(dir), dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

export interface WrittenBatch {
  manifestKey: string;
  manifest: BatchManifest;
}

const compactTime = (iso: string) => iso.replace(/[-:.]/g, '');

let clock = Date.parse('2026-11-22T12:00:00.000Z');
/** Strictly increasing manifest times, so keys sort in creation order like the processor's. */
export const nextManifestTime = (): string => new Date((clock += 1000)).toISOString();

export async function writeBatch(
  store: ObjectStore,
  tables: Partial<Record<WarehouseTable, WarehouseRow[]>>,
  options: { batchId?: string; createdAt?: string; maxCommitTs?: string; prefix?: string } = {},
): Promise<WrittenBatch> {
  const createdAt = options.createdAt ?? nextManifestTime();
  const batchId = options.batchId ?? randomBytes(8).toString('hex');
  const day = createdAt.slice(0, 10);
  const files: ManifestFile[] = [];
  const eventIds: string[] = [];
  const commitTimes: string[] = [];
  for (const [table, rows] of Object.entries(tables) as [WarehouseTable, WarehouseRow[]][]) {
    const bytes = encodeWarehouseParquet(table, rows);
    const key = `${options.prefix ?? ''}${table}/date=${day}/${batchId}.parquet`;
    await store.put(key, bytes);
    files.push({ table, key, rows: rows.length, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
    for (const row of rows) {
      if (typeof row.event_id === 'string') eventIds.push(row.event_id);
      if (typeof row.commit_ts === 'string') commitTimes.push(row.commit_ts);
    }
  }
  commitTimes.sort();
  const manifest: BatchManifest = {
    v: MANIFEST_VERSION,
    batchId,
    createdAt,
    eventCount: Math.max(eventIds.length, 1),
    firstEventId: eventIds[0] ?? 'none',
    lastEventId: eventIds[eventIds.length - 1] ?? 'none',
    minCommitTs: commitTimes[0] ?? createdAt,
    maxCommitTs: options.maxCommitTs ?? commitTimes[commitTimes.length - 1] ?? createdAt,
    files,
  };
  const manifestKey = `${options.prefix ?? ''}manifests/date=${day}/${compactTime(createdAt)}-${batchId}.json`;
  await store.put(manifestKey, JSON.stringify(manifest));
  return { manifestKey, manifest };
}

/** Dimension rows: key + attributes + version (lsn, seq). */
export const staffDim = (staff_id: number, version_lsn: bigint, over: WarehouseRow = {}): WarehouseRow => ({
  staff_id,
  first_name: `First${staff_id}`,
  last_name: `Last${staff_id}`,
  department_name: 'Sales',
  location: 'Manchester',
  email_address: `staff${staff_id}@terrifictotes.com`,
  version_lsn,
  version_seq: 0,
  is_deleted: false,
  joined_version_lsn: 0n,
  joined_version_seq: 0,
  ...over,
});

export const locationDim = (location_id: number, version_lsn: bigint, over: WarehouseRow = {}): WarehouseRow => ({
  location_id,
  address_line_1: `${location_id} Tote Street`,
  address_line_2: null,
  district: 'Tab\there',
  city: 'Leeds',
  postal_code: 'LS1 1AA',
  country: 'UK',
  phone: '0113 000 000',
  version_lsn,
  version_seq: 0,
  is_deleted: false,
  ...over,
});

export const currencyDim = (currency_id: number, code: string, version_lsn: bigint): WarehouseRow => ({
  currency_id,
  currency_code: code,
  currency_name: code === 'GBP' ? 'Pound Sterling' : code === 'USD' ? 'US Dollar' : 'Euro',
  version_lsn,
  version_seq: 0,
  is_deleted: false,
});

export const designDim = (design_id: number, version_lsn: bigint, over: WarehouseRow = {}): WarehouseRow => ({
  design_id,
  design_name: `Design ${design_id}`,
  file_location: '/usr/designs',
  file_name: `design-${design_id}.json`,
  version_lsn,
  version_seq: 0,
  is_deleted: false,
  ...over,
});

export const counterpartyDim = (counterparty_id: number, version_lsn: bigint): WarehouseRow => ({
  counterparty_id,
  counterparty_legal_name: `Counterparty ${counterparty_id} Ltd`,
  counterparty_legal_address_line_1: '1 Legal Way',
  counterparty_legal_address_line_2: null,
  counterparty_legal_district: null,
  counterparty_legal_city: 'York',
  counterparty_legal_postal_code: 'YO1 1AA',
  counterparty_legal_country: 'UK',
  counterparty_legal_phone_number: '01904 000000',
  version_lsn,
  version_seq: 0,
  is_deleted: false,
  joined_version_lsn: 0n,
  joined_version_seq: 0,
});

export function dateDim(date: string): WarehouseRow {
  const d = new Date(`${date}T00:00:00Z`);
  const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  return {
    date_id: date,
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    day_of_week: d.getUTCDay() === 0 ? 7 : d.getUTCDay(),
    day_name: dayNames[d.getUTCDay()],
    month_name: monthNames[d.getUTCMonth()],
    quarter: Math.floor(d.getUTCMonth() / 3) + 1,
  };
}

/** One version of a sales order (a fact row); `lsn`/`seq` order versions, `op` is c|u|d|r. */
export function salesFact(sales_order_id: number, lsn: bigint, over: WarehouseRow = {}): WarehouseRow {
  const seq = typeof over.source_seq === 'number' ? over.source_seq : 0;
  return {
    sales_order_id,
    created_date: '2022-11-03',
    created_time: '14:20:52.186',
    last_updated_date: '2022-11-03',
    last_updated_time: '14:20:52.186',
    sales_staff_id: 1,
    counterparty_id: 1,
    units_sold: 100,
    unit_price: '2.94',
    currency_id: 1,
    design_id: 1,
    agreed_payment_date: '2022-11-07',
    agreed_delivery_date: '2022-11-10',
    agreed_delivery_location_id: 1,
    event_id: `${lsn.toString(16)}/${seq}/${sales_order_id}`,
    op: 'c',
    source_lsn: lsn,
    source_seq: seq,
    commit_ts: '2026-11-22T12:00:00.123Z',
    ...over,
  };
}

export function paymentFact(payment_id: number, lsn: bigint, over: WarehouseRow = {}): WarehouseRow {
  return {
    payment_id,
    created_date: '2022-11-03',
    created_time: '14:20:52.187',
    last_updated_date: '2022-11-03',
    last_updated_time: '14:20:52.187',
    transaction_id: payment_id,
    counterparty_id: 1,
    payment_amount: '552548.62',
    currency_id: 1,
    payment_type_id: 1,
    paid: false,
    payment_date: '2022-11-04',
    event_id: `${lsn.toString(16)}/0/p${payment_id}`,
    op: 'c',
    source_lsn: lsn,
    source_seq: 0,
    commit_ts: '2026-11-22T12:00:00.124Z',
    ...over,
  };
}
