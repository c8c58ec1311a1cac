import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { METRIC } from '../../platform/metrics.js';
import { decodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import { createKinesisHandler } from '../../stream-processors/lambda/kinesis-handler.js';
import { CountingMetrics } from '../support/counting-metrics.js';
import { DynamoDbJoinStateStore, STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../../stream-processors/state/dynamodb-join-state-store.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { readParquetWithDuckDb } from '../support/duckdb.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';
import { kinesisEvent, kinesisRecord } from '../support/kinesis-event-factory.js';
import { listKeys, RecordingObjectStore } from '../support/recording-object-store.js';

let dynalite: DynaliteServer;
let dir: string;
let bucket: RecordingObjectStore;
let state: DynamoDbJoinStateStore;
let metrics: CountingMetrics;
let tableNumber = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite?.stop();
});
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kinesis-handler-'));
  bucket = new RecordingObjectStore(new LocalDirObjectStore(dir));
  const table = `handler-state-${++tableNumber}`;
  await dynalite.createTable(table, STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
  state = new DynamoDbJoinStateStore(dynalite.client, table);
  metrics = new CountingMetrics();
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const handler = () => createKinesisHandler({ state, processed: bucket, logger: silentLogger, metrics });

describe('Kinesis Lambda handler', () => {
  it('decodes base64 records, joins through DynamoDB state, quarantines poison and reports no failures', async () => {
    const records = [
      kinesisRecord(0, changeEvent('department', 'r', sourceRow.department({ department_id: 2, department_name: 'Finance' }), { lsn: 0x1000 })),
      kinesisRecord(0, '{"v":1,"id":"broken'),
      kinesisRecord(0, changeEvent('staff', 'r', sourceRow.staff({ staff_id: 4, department_id: 2 }), { lsn: 0x1000 })),
      kinesisRecord(1, changeEvent('sales_order', 'c', sourceRow.sales_order({ unit_price: '10.5' }), { lsn: 0x2000, seq: 1 })),
      kinesisRecord(1, JSON.stringify({ ...changeEvent('sales_order', 'c', sourceRow.sales_order()), source: { nope: true } })),
    ];
    const response = await handler()(kinesisEvent(records), { awsRequestId: 'req-1' });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(metrics.get(METRIC.eventsQuarantined)).toBe(2);
    expect(metrics.get(METRIC.eventsProcessed)).toBe(3);
    const manifests = await listKeys(bucket, 'manifests/');
    expect(manifests).toHaveLength(2); // one batch per shard
    const staffKey = (await listKeys(bucket, 'dim_staff/'))[0];
    const staff = await readParquetWithDuckDb(await bucket.get(staffKey), 'SELECT staff_id, department_name, version_lsn, version_seq FROM file');
    expect(staff.rows).toEqual([{ staff_id: 4, department_name: 'Finance', version_lsn: 0x1000n, version_seq: -1 }]);
    const salesKey = (await listKeys(bucket, 'fact_sales_order/'))[0];
    const sales = await readParquetWithDuckDb(await bucket.get(salesKey), 'SELECT unit_price::VARCHAR AS p FROM file');
    expect(sales.rows).toEqual([{ p: '10.50' }]);
    const quarantine = await Promise.all((await listKeys(bucket, 'quarantine/')).map(async (k) => JSON.parse(Buffer.from(await bucket.get(k)).toString('utf8'))));
    expect(quarantine.map((q) => [q.reason, q.shardId, q.sequenceNumber]).sort()).toEqual(
      [
        ['invalid-event', 'shardId-000000000001', records[4].kinesis.sequenceNumber],
        ['malformed-json', 'shardId-000000000000', records[1].kinesis.sequenceNumber],
      ].sort(),
    );
    // The staff state written in this invocation completes a later staff-less department change.
    const later = await handler()(kinesisEvent([kinesisRecord(2, changeEvent('department', 'u', sourceRow.department({ department_id: 2, department_name: 'Finance & Ops' }), { lsn: 0x3000 }))]));
    expect(later.batchItemFailures).toEqual([]);
    const staffFiles = await listKeys(bucket, 'dim_staff/');
    const rows = (await Promise.all(staffFiles.map(async (k) => decodeWarehouseParquet('dim_staff', await bucket.get(k))))).flat();
    expect(rows.map((r) => r.department_name).sort()).toEqual(['Finance', 'Finance & Ops']);
  });

  it('reports the first sequence number of a failing shard and keeps the other shard', async () => {
    const shard0 = [kinesisRecord(0, changeEvent('sales_order', 'c', sourceRow.sales_order(), { lsn: 0x2000 })), kinesisRecord(0, changeEvent('sales_order', 'u', sourceRow.sales_order(), { lsn: 0x2100 }))];
    const shard1 = [
      kinesisRecord(1, changeEvent('payment', 'c', sourceRow.payment({ payment_id: 1 }), { lsn: 0x2000, seq: 1 })),
      kinesisRecord(1, changeEvent('payment', 'u', sourceRow.payment({ payment_id: 1, paid: true }), { lsn: 0x2200, seq: 1 })),
    ];
    bucket.failPuts = /^fact_payment\//; // the second shard's batch cannot be written
    const response = await handler()(kinesisEvent([shard0[0], shard1[0], shard0[1], shard1[1]]));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: shard1[0].kinesis.sequenceNumber }] });
    expect(await listKeys(bucket, 'fact_sales_order/')).toHaveLength(1);
    expect(await listKeys(bucket, 'fact_payment/')).toEqual([]);
    // Lambda retries the failed shard from that record; now it succeeds.
    bucket.failPuts = undefined;
    expect(await handler()(kinesisEvent(shard1))).toEqual({ batchItemFailures: [] });
    const payments = await decodeWarehouseParquet('fact_payment', await bucket.get((await listKeys(bucket, 'fact_payment/'))[0]));
    expect(payments.map((p) => p.paid)).toEqual([false, true]);
  });

  it('throws when the whole batch failed, so Lambda retries it', async () => {
    bucket.failPuts = /./;
    const records = [kinesisRecord(0, changeEvent('design', 'c', sourceRow.design(), { lsn: 0x2000 }))];
    await expect(handler()(kinesisEvent(records))).rejects.toThrow(/bucket unavailable/);
  });

  it('counts the quarantines of a batch that failed and was retried once (when the batch is durable)', async () => {
    const records = [
      kinesisRecord(0, '{"v":1,"id":"broken'),
      kinesisRecord(0, changeEvent('sales_order', 'c', sourceRow.sales_order({ sales_order_id: 1, agreed_delivery_date: 'next Tuesday' }), { lsn: 0x2000 })),
      kinesisRecord(0, changeEvent('sales_order', 'c', sourceRow.sales_order({ sales_order_id: 2 }), { lsn: 0x2100 })),
    ];
    bucket.failPuts = /^manifests\//; // quarantine and Parquet written, the commit point fails
    await expect(handler()(kinesisEvent(records))).rejects.toThrow(/bucket unavailable/);
    await expect(handler()(kinesisEvent(records))).rejects.toThrow(/bucket unavailable/);
    expect(metrics.get(METRIC.eventsQuarantined), 'nothing counted while the batch is not durable').toBe(0);
    bucket.failPuts = undefined;
    expect(await handler()(kinesisEvent(records))).toEqual({ batchItemFailures: [] });
    expect(metrics.get(METRIC.eventsQuarantined), 'the malformed record and the bad date, once each').toBe(2);
    expect(await listKeys(bucket, 'quarantine/')).toHaveLength(2); // the retries rewrote the same keys
  });

  it('never blocks on a batch of poison only', async () => {
    const records = [kinesisRecord(0, new Uint8Array([0xc3, 0x28])), kinesisRecord(0, '')];
    expect(await handler()(kinesisEvent(records))).toEqual({ batchItemFailures: [] });
    expect(await listKeys(bucket, 'quarantine/')).toHaveLength(2);
    expect(await listKeys(bucket, 'manifests/')).toEqual([]);
  });

  it('builds its dependencies once per container, retrying a failed build on the next invocation', async () => {
    let builds = 0;
    const lazy = createKinesisHandler(async () => {
      if (++builds === 1) throw new Error('secrets not reachable yet');
      return { state, processed: bucket, logger: silentLogger };
    });
    await expect(lazy(kinesisEvent([]))).rejects.toThrow(/secrets not reachable/);
    await lazy(kinesisEvent([]));
    await lazy(kinesisEvent([kinesisRecord(0, changeEvent('design', 'c', sourceRow.design(), { lsn: 0x2000 }))]));
    expect(builds).toBe(2);
    expect(await listKeys(bucket, 'dim_design/')).toHaveLength(1);
  });
});
