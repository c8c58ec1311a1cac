import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import type { BatchManifest } from '../../contracts/manifest.js';
import { METRIC } from '../../platform/metrics.js';
import { decodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import type { WarehouseTable } from '../../contracts/warehouse-model.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { CountingMetrics } from '../support/counting-metrics.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { readParquetWithDuckDb } from '../support/duckdb.js';
import { useProcessorTestbed } from '../support/processor-testbed.js';
import { listKeys } from '../support/recording-object-store.js';

const testbed = useProcessorTestbed('process-batch');
let metrics: CountingMetrics;

beforeEach(() => {
  metrics = new CountingMetrics();
});

const WRITTEN_AT = '2026-11-24T08:00:00.000Z';
const clock = () => Date.parse(WRITTEN_AT);
const run = (events: ChangeEvent[]) => processEvents(events, { state: testbed.state, processed: testbed.bucket, logger: silentLogger, metrics, now: clock });

async function fileOf(manifest: BatchManifest, table: WarehouseTable): Promise<Uint8Array> {
  const file = manifest.files.find((f) => f.table === table);
  if (!file) throw new Error(`no ${table} file in the manifest`);
  return testbed.bucket.get(file.key);
}

async function rowsOf(manifest: BatchManifest, table: WarehouseTable) {
  return decodeWarehouseParquet(table, await fileOf(manifest, table));
}

describe('processEvents', () => {
  it('writes one Parquet file per touched table, then the manifest last, with exact values DuckDB agrees on', async () => {
    const events = [
      changeEvent('department', 'r', sourceRow.department(), { lsn: 0x1000 }),
      changeEvent('staff', 'r', sourceRow.staff({ staff_id: 19 }), { lsn: 0x1000 }),
      changeEvent('currency', 'r', sourceRow.currency({ currency_id: 2, currency_code: 'USD' }), { lsn: 0x1000 }),
      changeEvent('sales_order', 'c', sourceRow.sales_order(), { lsn: 0x2000, seq: 1, commitTs: '2026-11-22T12:00:00.123Z' }),
      changeEvent('payment', 'c', sourceRow.payment(), { lsn: 0x2000, seq: 2, commitTs: '2026-11-22T12:00:00.123Z' }),
    ];
    const manifest = await run(events);
    expect(manifest).not.toBeNull();
    const m = manifest!;
    expect(m.files.map((f) => f.table)).toEqual(['dim_date', 'dim_staff', 'dim_currency', 'fact_sales_order', 'fact_payment']);
    expect(m).toMatchObject({ v: 1, eventCount: 5, firstEventId: events[0].id, lastEventId: '0/2000/2', minCommitTs: '2026-11-22T12:00:00.123Z', maxCommitTs: '2026-11-22T12:00:00.123Z', createdAt: WRITTEN_AT });
    expect(m.batchId).toMatch(/^[0-9a-f]{32}$/);
    // Manifest keys carry the write time, so the loader's key-ordered listing sees late batches.
    const manifestKey = `manifests/date=2026-11-24/20261124T080000000Z-${m.batchId}.json`;
    expect(testbed.bucket.puts.at(-1)).toBe(manifestKey);
    expect(JSON.parse(Buffer.from(await testbed.bucket.get(manifestKey)).toString('utf8'))).toEqual(m);
    for (const file of m.files) {
      expect(file.key).toBe(`${file.table}/date=2026-11-22/${m.batchId}.parquet`);
      const bytes = await testbed.bucket.get(file.key);
      expect(file.bytes).toBe(bytes.byteLength);
      expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }

    const sales = await readParquetWithDuckDb(
      await fileOf(m, 'fact_sales_order'),
      'SELECT sales_order_id, created_date::VARCHAR AS cd, created_time::VARCHAR AS ct, sales_staff_id, unit_price::VARCHAR AS price, agreed_payment_date::VARCHAR AS apd, event_id, op, source_lsn, source_seq, commit_ts FROM file',
    );
    expect(sales.rows).toEqual([
      { sales_order_id: 2, cd: '2022-11-03', ct: '14:20:49.962', sales_staff_id: 19, price: '3.94', apd: '2022-11-08', event_id: '0/2000/1', op: 'c', source_lsn: 0x2000n, source_seq: 1, commit_ts: new Date('2026-11-22T12:00:00.123Z') },
    ]);
    expect(sales.types).toMatchObject({ sales_order_id: 'INTEGER', source_lsn: 'BIGINT', commit_ts: 'TIMESTAMP WITH TIME ZONE' });
    const payment = await readParquetWithDuckDb(await fileOf(m, 'fact_payment'), 'SELECT payment_amount::VARCHAR AS amount, paid, payment_date::VARCHAR AS pd FROM file');
    expect(payment.rows).toEqual([{ amount: '552548.62', paid: false, pd: '2022-11-04' }]);
    const staff = await readParquetWithDuckDb(await fileOf(m, 'dim_staff'));
    expect(staff.rows).toEqual([
      { staff_id: 19, first_name: 'Jeremie', last_name: 'Franey', department_name: 'Sales', location: 'Manchester', email_address: 'jeremie.franey@terrifictotes.com', version_lsn: 0x1000n, version_seq: -1, is_deleted: false, joined_version_lsn: 0x1000n, joined_version_seq: -1 },
    ]);
    const currency = await readParquetWithDuckDb(await fileOf(m, 'dim_currency'));
    expect(currency.rows).toEqual([{ currency_id: 2, currency_code: 'USD', currency_name: 'US Dollar', version_lsn: 0x1000n, version_seq: -1, is_deleted: false }]);
    const dates = await readParquetWithDuckDb(await fileOf(m, 'dim_date'), 'SELECT date_id::VARCHAR AS d, day_of_week, day_name, month_name, quarter FROM file ORDER BY d');
    expect(dates.rows.map((r) => r.d)).toEqual(['2022-11-03', '2022-11-04', '2022-11-07', '2022-11-08']);
    expect(dates.rows[0]).toEqual({ d: '2022-11-03', day_of_week: 4, day_name: 'Thursday', month_name: 'November', quarter: 4 });
    expect(dates.types).toMatchObject({ day_of_week: 'INTEGER' });
    expect(metrics.get(METRIC.eventsProcessed)).toBe(5);
  });

  it('is idempotent: the same events again give byte-identical files and the same manifest', async () => {
    const events = [
      changeEvent('address', 'r', sourceRow.address(), { lsn: 0x1000 }),
      changeEvent('counterparty', 'r', sourceRow.counterparty(), { lsn: 0x1000 }),
      changeEvent('sales_order', 'c', sourceRow.sales_order(), { lsn: 0x2000, seq: 1 }),
      changeEvent('sales_order', 'u', sourceRow.sales_order({ units_sold: 5 }), { lsn: 0x2100, seq: 1, commitTs: '2026-11-23T00:00:01.000Z' }),
    ];
    const first = (await run(events))!;
    const firstFiles = await Promise.all(first.files.map((f) => testbed.bucket.get(f.key)));
    const firstManifestKey = testbed.bucket.puts.at(-1)!;
    const firstManifestBytes = await testbed.bucket.get(firstManifestKey);
    testbed.bucket.puts.length = 0;
    const second = (await run([...events]))!;
    expect(second).toEqual(first);
    expect(testbed.bucket.puts.at(-1)).toBe(firstManifestKey);
    expect(firstManifestKey).toMatch(/^manifests\/date=2026-11-24\/20261124T080000000Z-/);
    expect(await testbed.bucket.get(firstManifestKey)).toEqual(firstManifestBytes);
    const secondFiles = await Promise.all(second.files.map((f) => testbed.bucket.get(f.key)));
    expect(secondFiles).toEqual(firstFiles);
    // A fresh state and bucket (another machine replaying the archive) also gives the same bytes.
    await testbed.state.close();
    const otherDir = await fs.mkdtemp(path.join(os.tmpdir(), 'process-batch-other-'));
    try {
      const otherState = await LocalJoinStateStore.open(otherDir, silentLogger);
      const otherBucket = new LocalDirObjectStore(path.join(otherDir, 'processed'));
      const third = (await processEvents(events, { state: otherState, processed: otherBucket, logger: silentLogger }))!;
      // Written later: a new manifest key and createdAt, the same batch identity and content.
      expect(third.createdAt).not.toBe(first.createdAt);
      expect({ ...third, createdAt: first.createdAt }).toEqual(first);
      expect(await Promise.all(third.files.map((f) => otherBucket.get(f.key)))).toEqual(firstFiles);
      await otherState.close();
    } finally {
      await fs.rm(otherDir, { recursive: true, force: true });
      testbed.state = await LocalJoinStateStore.open(path.join(testbed.dir, 'state'), silentLogger);
    }
  });

  it('keeps every fact version, including silent updates and deletes; dedupes repeated event ids', async () => {
    const created = changeEvent('sales_order', 'c', sourceRow.sales_order(), { lsn: 0x3000 });
    // staff and design change without last_updated changing: still a new fact version.
    const silent = changeEvent('sales_order', 'u', sourceRow.sales_order({ staff_id: 4, design_id: 9 }), { lsn: 0x3100 });
    const deleted = changeEvent('sales_order', 'd', sourceRow.sales_order({ staff_id: 4, design_id: 9 }), { lsn: 0x3200 });
    const manifest = (await run([created, silent, created, deleted, silent]))!;
    expect(manifest.eventCount).toBe(3);
    const rows = await rowsOf(manifest, 'fact_sales_order');
    expect(rows.map((r) => [r.op, r.sales_staff_id, r.design_id, r.last_updated_date, r.last_updated_time])).toEqual([
      ['c', 19, 3, '2022-11-03', '14:20:49.962'],
      ['u', 4, 9, '2022-11-03', '14:20:49.962'],
      ['d', 4, 9, '2022-11-03', '14:20:49.962'],
    ]);
  });

  it('completes dim_staff when the department arrives after the staff row (and the reverse)', async () => {
    const first = (await run([changeEvent('staff', 'c', sourceRow.staff({ staff_id: 3, department_id: 2 }), { lsn: 0x5000 })]))!;
    expect(await rowsOf(first, 'dim_staff')).toEqual([expect.objectContaining({ staff_id: 3, department_name: null, location: null, version_lsn: 0x5000n, version_seq: 0, joined_version_lsn: 0n })]);
    // The department's change is older (another shard lagging) yet the completed row outranks the first.
    const second = (await run([changeEvent('department', 'r', sourceRow.department({ department_id: 2, department_name: 'Finance', location: 'Leeds' }), { lsn: 0x4000 })]))!;
    expect(await rowsOf(second, 'dim_staff')).toEqual([expect.objectContaining({ staff_id: 3, department_name: 'Finance', location: 'Leeds', version_lsn: 0x5000n, version_seq: 0, joined_version_lsn: 0x4000n, joined_version_seq: -1 })]);

    // Reverse order: department first gives no staff row; the staff row then joins it at once.
    const third = (await run([changeEvent('department', 'c', sourceRow.department({ department_id: 7, department_name: 'HR', location: null }), { lsn: 0x6000 })]))!;
    expect(third.files.map((f) => f.table)).toEqual([]);
    const fourth = (await run([changeEvent('staff', 'c', sourceRow.staff({ staff_id: 8, department_id: 7 }), { lsn: 0x6100 })]))!;
    expect(await rowsOf(fourth, 'dim_staff')).toEqual([expect.objectContaining({ staff_id: 8, department_name: 'HR', location: null, version_lsn: 0x6100n, version_seq: 0, joined_version_lsn: 0x6000n })]);
  });

  it('completes dim_counterparty when its legal address arrives later, and re-emits it when the address changes', async () => {
    const first = (await run([changeEvent('counterparty', 'c', sourceRow.counterparty({ counterparty_id: 4, legal_address_id: 9 }), { lsn: 0x7000 })]))!;
    expect(await rowsOf(first, 'dim_counterparty')).toEqual([expect.objectContaining({ counterparty_id: 4, counterparty_legal_city: null, version_seq: 0, joined_version_lsn: 0n })]);
    const second = (await run([changeEvent('address', 'c', sourceRow.address({ address_id: 9, city: 'Leeds' }), { lsn: 0x7100 })]))!;
    expect(await rowsOf(second, 'dim_location')).toEqual([expect.objectContaining({ location_id: 9, city: 'Leeds', version_lsn: 0x7100n })]);
    expect(await rowsOf(second, 'dim_counterparty')).toEqual([expect.objectContaining({ counterparty_id: 4, counterparty_legal_city: 'Leeds', version_lsn: 0x7000n, joined_version_lsn: 0x7100n })]);
    const third = (await run([changeEvent('address', 'u', sourceRow.address({ address_id: 9, city: 'York' }), { lsn: 0x7200 })]))!;
    expect(await rowsOf(third, 'dim_counterparty')).toEqual([expect.objectContaining({ counterparty_id: 4, counterparty_legal_city: 'York', version_lsn: 0x7000n, joined_version_lsn: 0x7200n })]);
  });

  it('a department change re-emits every staff row of that department, not those who moved away', async () => {
    await run([
      changeEvent('department', 'r', sourceRow.department({ department_id: 1 }), { lsn: 0x1000 }),
      changeEvent('staff', 'r', sourceRow.staff({ staff_id: 1 }), { lsn: 0x1000 }),
      changeEvent('staff', 'r', sourceRow.staff({ staff_id: 2 }), { lsn: 0x1000 }),
      changeEvent('staff', 'r', sourceRow.staff({ staff_id: 3 }), { lsn: 0x1000 }),
    ]);
    await run([changeEvent('staff', 'u', sourceRow.staff({ staff_id: 3, department_id: 5 }), { lsn: 0x2000 })]);
    const manifest = (await run([changeEvent('department', 'u', sourceRow.department({ department_id: 1, department_name: 'Sales & Marketing' }), { lsn: 0x3000, seq: 2 })]))!;
    const rows = await rowsOf(manifest, 'dim_staff');
    expect(rows.map((r) => [r.staff_id, r.department_name, r.version_lsn, r.version_seq, r.joined_version_lsn, r.joined_version_seq])).toEqual([
      [1, 'Sales & Marketing', 0x1000n, -1, 0x3000n, 2],
      [2, 'Sales & Marketing', 0x1000n, -1, 0x3000n, 2],
    ]);
  });

  it('never lets an older change win in the state; a deleted staff row is a tombstone', async () => {
    await run([changeEvent('staff', 'u', sourceRow.staff({ staff_id: 6, last_name: 'Newer' }), { lsn: 0x9000 })]);
    const replayed = (await run([changeEvent('staff', 'c', sourceRow.staff({ staff_id: 6, last_name: 'Older' }), { lsn: 0x8000 })]))!;
    expect(await rowsOf(replayed, 'dim_staff')).toEqual([expect.objectContaining({ staff_id: 6, last_name: 'Newer', version_lsn: 0x9000n })]);
    expect((await testbed.state.get('staff', 6))?.row.last_name).toBe('Newer');

    const deleted = (await run([changeEvent('staff', 'd', sourceRow.staff({ staff_id: 6, last_name: 'Newer' }), { lsn: 0x9100 })]))!;
    expect(await rowsOf(deleted, 'dim_staff')).toEqual([expect.objectContaining({ staff_id: 6, is_deleted: true, version_lsn: 0x9100n })]);
    const resurrect = (await run([changeEvent('staff', 'u', sourceRow.staff({ staff_id: 6 }), { lsn: 0x9050 })]))!;
    expect(await rowsOf(resurrect, 'dim_staff')).toEqual([expect.objectContaining({ staff_id: 6, is_deleted: true })]);
  });

  it('keeps one row per dimension key per batch, the highest version', async () => {
    const manifest = (await run([
      changeEvent('design', 'c', sourceRow.design({ file_location: '/a' }), { lsn: 0x2000 }),
      changeEvent('design', 'u', sourceRow.design({ file_location: '/c' }), { lsn: 0x2200 }),
      changeEvent('design', 'u', sourceRow.design({ file_location: '/b' }), { lsn: 0x2100 }),
    ]))!;
    expect(await rowsOf(manifest, 'dim_design')).toEqual([expect.objectContaining({ file_location: '/c', version_lsn: 0x2200n })]);
  });

  it('quarantines events that violate the schema or name an unknown table; the rest of the batch proceeds', async () => {
    const badUnits = changeEvent('sales_order', 'c', sourceRow.sales_order({ units_sold: 'twelve' }), { lsn: 0xa000 });
    const badDate = changeEvent('payment', 'c', sourceRow.payment({ payment_date: '2022-13-01' }), { lsn: 0xa100 });
    const prisma = { ...changeEvent('design', 'c', sourceRow.design(), { lsn: 0xa200 }), table: '_prisma_migrations' } as unknown as ChangeEvent;
    const good = changeEvent('sales_order', 'c', sourceRow.sales_order({ sales_order_id: 77 }), { lsn: 0xa300 });
    const manifest = (await processEvents([badUnits, badDate, prisma, good], { state: testbed.state, processed: testbed.bucket, logger: silentLogger, metrics, recordOrigin: () => ({ shardId: 'shard-0' }) }))!;
    expect(manifest.eventCount).toBe(1);
    expect((await rowsOf(manifest, 'fact_sales_order')).map((r) => r.sales_order_id)).toEqual([77]);
    expect(metrics.get(METRIC.eventsQuarantined)).toBe(3);
    const keys = await listKeys(testbed.bucket, 'quarantine/');
    expect(keys).toHaveLength(3);
    expect(keys.every((k) => /^quarantine\/date=2026-11-22\/[0-9a-f]{32}\.json$/.test(k))).toBe(true);
    const entries = await Promise.all(keys.map(async (k) => JSON.parse(Buffer.from(await testbed.bucket.get(k)).toString('utf8'))));
    const byEvent = Object.fromEntries(entries.map((e) => [e.eventId, e]));
    expect(byEvent[badUnits.id]).toMatchObject({ reason: 'invalid-value', error: expect.stringContaining('units_sold'), recordEncoding: 'utf8', shardId: 'shard-0' });
    expect(JSON.parse(byEvent[badUnits.id].record)).toEqual(badUnits);
    expect(byEvent[badDate.id].error).toMatch(/payment_date/);
    expect(byEvent[prisma.id]).toMatchObject({ reason: 'unknown-table' });
  });

  it('returns null and writes nothing but quarantine when no event yields a row', async () => {
    expect(await run([])).toBeNull();
    expect(await run([changeEvent('sales_order', 'c', sourceRow.sales_order({ unit_price: 1.5 }))])).toBeNull();
    expect(await listKeys(testbed.bucket, 'manifests/')).toEqual([]);
  });

  it('fails the whole call on a bucket error (retryable) and succeeds identically on retry', async () => {
    const events = [changeEvent('sales_order', 'c', sourceRow.sales_order(), { lsn: 0xb000 }), changeEvent('payment', 'c', sourceRow.payment(), { lsn: 0xb100 })];
    testbed.bucket.failPuts = /^fact_payment\//;
    await expect(run(events)).rejects.toThrow(/bucket unavailable/);
    expect(await listKeys(testbed.bucket, 'manifests/')).toEqual([]);
    testbed.bucket.failPuts = undefined;
    const manifest = (await run(events))!;
    expect(await listKeys(testbed.bucket, 'manifests/')).toHaveLength(1);
    expect(manifest.files.map((f) => f.table)).toEqual(['dim_date', 'fact_sales_order', 'fact_payment']);
  });

  it('writes under a prefix (replay)', async () => {
    const manifest = (await processEvents([changeEvent('design', 'c', sourceRow.design(), { lsn: 0xc000 })], { state: testbed.state, processed: testbed.bucket, logger: silentLogger, prefix: 'replay/r1/' }))!;
    expect(manifest.files[0].key).toMatch(/^replay\/r1\/dim_design\/date=2026-11-22\//);
    expect(await listKeys(testbed.bucket, 'replay/r1/manifests/')).toHaveLength(1);
  });
});
