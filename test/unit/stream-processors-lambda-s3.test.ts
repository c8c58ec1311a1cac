import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWarehouseParquet } from '../../parquet/warehouse-parquet.js';
import type { BatchManifest } from '../../contracts/manifest.js';
import { createKinesisHandler } from '../../stream-processors/lambda/kinesis-handler.js';
import { buildLambdaDeps } from '../../stream-processors/lambda/lambda-deps.js';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';
import { STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../../stream-processors/state/dynamodb-join-state-store.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { readParquetWithDuckDb } from '../support/duckdb.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';
import { kinesisEvent, kinesisRecord } from '../support/kinesis-event-factory.js';

const require = createRequire(import.meta.url);

let dir: string;
let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let s3Endpoint: string;
let dynalite: DynaliteServer;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lambda-s3-'));
  const S3rver = require('s3rver');
  // Port 0: the kernel picks it as s3rver listens (no window for another process to take it).
  s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'processed' }] });
  const { port } = await s3rver.run();
  s3Endpoint = `http://127.0.0.1:${port}`;
  dynalite = await startDynalite();
  await dynalite.createTable('processor-state', STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
});

afterAll(async () => {
  await s3rver?.close();
  await dynalite?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

const env = () => ({
  TOTESYS_BUCKETS: 's3',
  TOTESYS_PROCESSED_BUCKET: 'processed',
  TOTESYS_S3_ENDPOINT: s3Endpoint,
  TOTESYS_STATE_STORE: 'dynamodb',
  TOTESYS_DYNAMODB_TABLE: 'processor-state',
  TOTESYS_DYNAMODB_ENDPOINT: dynalite.endpoint,
  AWS_REGION: 'eu-west-2',
  TOTESYS_LOG_LEVEL: 'silent',
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
});

describe('Kinesis Lambda handler with env-built dependencies (s3rver + dynalite)', () => {
  it('writes Parquet and the manifest to S3 with matching checksums', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env()); // the SDK's default credential chain reads the process env
    try {
      const handler = createKinesisHandler(() => buildLambdaDeps(env()));
      const records = [
        kinesisRecord(0, changeEvent('address', 'r', sourceRow.address({ address_id: 3 }), { lsn: 0x1000 })),
        kinesisRecord(0, changeEvent('counterparty', 'r', sourceRow.counterparty({ counterparty_id: 5, legal_address_id: 3 }), { lsn: 0x1000 })),
        kinesisRecord(0, changeEvent('payment', 'c', sourceRow.payment({ payment_amount: '3.94' }), { lsn: 0x2000, seq: 1 })),
        kinesisRecord(0, 'not json at all'),
      ];
      expect(await handler(kinesisEvent(records), { awsRequestId: 'r-1' })).toEqual({ batchItemFailures: [] });
      const s3 = new S3ObjectStore(createS3Client({ region: 'eu-west-2', endpoint: s3Endpoint }), 'processed');
      const keys: string[] = [];
      for await (const object of s3.list('manifests/')) keys.push(object.key);
      expect(keys).toHaveLength(1);
      const manifest = JSON.parse(Buffer.from(await s3.get(keys[0])).toString('utf8')) as BatchManifest;
      expect(manifest.files.map((f) => f.table)).toEqual(['dim_date', 'dim_location', 'dim_counterparty', 'fact_payment']);
      const { createHash } = await import('node:crypto');
      for (const file of manifest.files) {
        const bytes = await s3.get(file.key);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
      }
      const payment = await readParquetWithDuckDb(await s3.get(manifest.files[3].key), 'SELECT payment_amount::VARCHAR AS a FROM file');
      expect(payment.rows).toEqual([{ a: '3.94' }]);
      const counterparty = await decodeWarehouseParquet('dim_counterparty', await s3.get(manifest.files[2].key));
      expect(counterparty).toEqual([expect.objectContaining({ counterparty_id: 5, counterparty_legal_city: 'New Patienceburgh' })]);
      let quarantined = 0;
      for await (const _ of s3.list('quarantine/')) quarantined++;
      expect(quarantined).toBe(1);
    } finally {
      process.env = saved;
    }
  });

  it('refuses a local-bucket or local-state configuration with a message naming the setting', async () => {
    await expect(buildLambdaDeps({ ...env(), TOTESYS_BUCKETS: 'local' })).rejects.toThrow(/TOTESYS_BUCKETS=s3/);
    await expect(buildLambdaDeps({ ...env(), TOTESYS_STATE_STORE: 'local' })).rejects.toThrow(/TOTESYS_STATE_STORE=dynamodb/);
  });
});
