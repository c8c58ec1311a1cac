import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';
import { runCapture, type CaptureResult } from '../../capture/run-capture.js';
import { readSnapshotMarker } from '../../capture/control/replication-setup.js';
import { loadConfig } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { parseLsn } from '../../contracts/lsn.js';
import type { BatchManifest } from '../../contracts/manifest.js';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES } from '../../contracts/warehouse-model.js';
import { createScheduleHandler } from '../../loader/lambda/schedule-handler.js';
import type { LoadSummary } from '../../loader/run-loader.js';
import { currentWalLsn, syncPipeline, type SyncSummary } from '../../runtime/sync-pipeline.js';
import { createKinesisHandler, type KinesisHandlerDeps } from '../../stream-processors/lambda/kinesis-handler.js';
import { buildLambdaDeps } from '../../stream-processors/lambda/lambda-deps.js';
import { embeddedMetricFormat } from '../../stream-processors/processor-metrics.js';
import { STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../../stream-processors/state/dynamodb-join-state-store.js';
import { createChangeStreamWriter } from '../../stream/create-change-stream.js';
import { seedTotesys } from '../../totesys/generator/seed-totesys.js';
import { runSimulator, type SimulatorSummary } from '../../totesys/simulator/run-simulator.js';
import { startKinesalite, startS3rver, type KinesaliteServer, type S3rverServer } from '../support/aws-emulators.js';
import { readParquetWithDuckDb } from '../support/duckdb.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';
import { KinesisEventSourceMapping, type Invocation, type LambdaKinesisHandler } from '../support/kinesis-event-source-mapping.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { dumpWarehouse, type WarehouseDump } from '../support/warehouse-dump.js';

/**
 * Issue 7, "Done when" (second bullet): the AWS-shaped path (capture → Kinesis → processor Lambda
 * with S3 + DynamoDB → loader Lambda fed by an RDS-format secret) builds the same warehouse as the
 * local pipeline (`totesys-cdc sync`) from the same source changes. Emulators run in-process:
 * kinesalite, s3rver, dynalite.
 */
const REGION = 'eu-west-2';
const STREAM = 'totesys-cdc-changes';
const PROCESSED_BUCKET = 'totesys-cdc-processed';
const STATE_TABLE = 'totesys-cdc-state';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:totesys-cdc-warehouse-AbCdEf';
const KINESIS_SHARDS = 2;
/** Smaller than the infra default (500) so the seed alone spans several invocations per shard. */
const BATCH_SIZE = 200;
const SEED_SCALE = 0.03;
const SIMULATED_CHANGES = 300;
const POISON = '{"v":1,"id":"0/1/0","op":"c","table":"sales_order",'; // truncated JSON

/** The RDS-managed secret text for a Postgres URL. */
function rdsSecretFor(url: string): string {
  const u = new URL(url);
  return JSON.stringify({
    engine: 'postgres',
    host: u.hostname,
    port: Number(u.port || 5432),
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    dbname: decodeURIComponent(u.pathname.slice(1)),
  });
}

/** What EventBridge sends for `rate(1 minute)`. */
function scheduledEvent(): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: ['arn:aws:events:eu-west-2:123456789012:rule/totesys-cdc-loader-schedule'],
    detail: {},
  };
}


async function snapshotLsnOf(url: string, publicationName: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const marker = await readSnapshotMarker(client, publicationName);
    if (marker.state !== 'complete') throw new Error(`snapshot of ${publicationName} is ${marker.state}`);
    return marker.snapshotLsn;
  } finally {
    await client.end();
  }
}

/**
 * Each capture has its own slot, so each took its initial snapshot at its own consistent point:
 * snapshot rows carry that LSN (event id suffix, source_lsn, dimension version_lsn) and the
 * snapshot's time (commit_ts). Those cells are replaced by placeholders; every other cell, and
 * every cell of a streamed change, must match exactly. Returns the rows sorted and the number of
 * replaced cells.
 */
function normalizeSnapshotPoint(dump: WarehouseDump, snapshotLsn: string): { dump: WarehouseDump; replaced: number } {
  const lsnNumber = parseLsn(snapshotLsn).toString();
  let replaced = 0;
  const out = {} as WarehouseDump;
  for (const table of WAREHOUSE_TABLES) {
    const names = WAREHOUSE_MODEL[table].columns.map((c) => c.name);
    const at = (name: string) => names.indexOf(name);
    const op = at('op');
    out[table] = dump[table].map((row) =>
      row.map((cell, i) => {
        const name = names[i];
        let value = cell;
        if ((name === 'source_lsn' || name === 'version_lsn' || name === 'joined_version_lsn') && cell === lsnNumber) value = '<snapshot-lsn>';
        else if (name === 'event_id' && cell.endsWith(`@${snapshotLsn}`)) value = cell.slice(0, -snapshotLsn.length) + '<snapshot-lsn>';
        else if (name === 'commit_ts' && op >= 0 && row[op] === 'r') value = '<snapshot-ts>';
        if (value !== cell) replaced++;
        return value;
      }),
    );
    out[table].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  return { dump: out, replaced };
}

describe('AWS-shaped pipeline (kinesalite, s3rver, dynalite, Lambda handlers) vs local sync', () => {
  const suffix = randomBytes(3).toString('hex');
  const aws = { slotName: `aws_cdc_${suffix}`, publicationName: `aws_cdc_${suffix}` };
  const local = { slotName: `local_cdc_${suffix}`, publicationName: `local_cdc_${suffix}` };
  let source: TestDatabase;
  let awsWarehouse: TestDatabase;
  let localWarehouse: TestDatabase;
  let stateDir: string;
  let kinesis: KinesaliteServer;
  let s3: S3rverServer;
  let dynamo: DynaliteServer;
  let streamArn: string;
  const savedEnv = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
  const lambdaDeps: KinesisHandlerDeps[] = [];

  beforeAll(async () => {
    // The DynamoDB client of the state store uses the SDK default credential chain; the emulators
    // accept any key.
    process.env.AWS_ACCESS_KEY_ID = 'emulator';
    process.env.AWS_SECRET_ACCESS_KEY = 'emulator';
    [source, awsWarehouse, localWarehouse, kinesis, s3, dynamo, stateDir] = await Promise.all([
      createTestDatabase('aws_shaped_source'),
      createTestDatabase('aws_shaped_wh_aws'),
      createTestDatabase('aws_shaped_wh_local'),
      startKinesalite(REGION),
      startS3rver([PROCESSED_BUCKET]),
      startDynalite(),
      fs.mkdtemp(path.join(os.tmpdir(), 'aws-shaped-')),
    ]);
    streamArn = await kinesis.createStream(STREAM, KINESIS_SHARDS);
    await dynamo.createTable(STATE_TABLE, STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
  });

  afterAll(async () => {
    for (const deps of lambdaDeps) await deps.state.close().catch(() => undefined);
    await Promise.all([kinesis?.stop(), s3?.stop(), dynamo?.stop()]);
    await Promise.all([source?.drop(), awsWarehouse?.drop(), localWarehouse?.drop()]);
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('builds the same warehouse as the local pipeline; poison is quarantined, not retried', async () => {
    const timings: Record<string, number> = {};
    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await fn();
      } finally {
        timings[name] = (timings[name] ?? 0) + Math.round(performance.now() - started);
      }
    };

    // --- the AWS path's wiring ------------------------------------------------------------------
    const awsConfig = loadConfig(
      { ...aws, stream: 'kinesis', kinesisStreamName: STREAM, kinesisEndpoint: kinesis.endpoint, awsRegion: REGION, stateDir: path.join(stateDir, 'aws'), logLevel: 'silent' },
      {},
    );
    const lambdaEnv = {
      TOTESYS_BUCKETS: 's3',
      TOTESYS_PROCESSED_BUCKET: PROCESSED_BUCKET,
      TOTESYS_S3_ENDPOINT: s3.endpoint,
      TOTESYS_STATE_STORE: 'dynamodb',
      TOTESYS_DYNAMODB_TABLE: STATE_TABLE,
      TOTESYS_DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: REGION,
      TOTESYS_LOG_LEVEL: 'silent',
    };
    const processorEmf: string[] = [];
    const handlers = new Map<string, LambdaKinesisHandler>();
    const handlerFor = (shardId: string): LambdaKinesisHandler => {
      let handler = handlers.get(shardId);
      if (!handler) {
        handler = createKinesisHandler(async () => {
          const deps = await buildLambdaDeps(lambdaEnv);
          lambdaDeps.push(deps);
          // Same EMF lines the Lambda prints, collected instead of written to stdout.
          return { ...deps, metrics: embeddedMetricFormat('stream-processor', (line) => processorEmf.push(line)) };
        });
        handlers.set(shardId, handler);
      }
      return handler;
    };
    const mapping = new KinesisEventSourceMapping({ client: kinesis.client, streamName: STREAM, streamArn, region: REGION, batchSize: BATCH_SIZE });
    const processed = new S3ObjectStore(createS3Client({ region: REGION, endpoint: s3.endpoint }), PROCESSED_BUCKET);
    const secretRequests: string[] = [];
    const loaderEmf: string[] = [];
    const loaderHandler = createScheduleHandler({
      getSecret: async (arn) => {
        secretRequests.push(arn);
        return rdsSecretFor(awsWarehouse.url);
      },
      openProcessedStore: () => new S3ObjectStore(createS3Client({ region: REGION, endpoint: s3.endpoint }), PROCESSED_BUCKET),
      env: { TOTESYS_WAREHOUSE_SECRET_ARN: SECRET_ARN },
      logger: silentLogger,
      writeMetrics: (line) => loaderEmf.push(line),
    });

    const awsCaptures: CaptureResult[] = [];
    const invocations: Invocation[] = [];
    const loads: LoadSummary[] = [];
    const captureToKinesis = async () => {
      const stopAtLsn = await currentWalLsn(source.url);
      const writer = await createChangeStreamWriter(awsConfig, silentLogger);
      try {
        const result = await runCapture({ sourceUrl: source.url, config: awsConfig, writer, logger: silentLogger, stopAtLsn });
        awsCaptures.push(result);
        return result;
      } finally {
        await writer.close();
      }
    };
    const awsRound = async () => {
      await timed('awsCapture', captureToKinesis);
      invocations.push(...(await timed('awsProcess', () => mapping.drain(handlerFor))));
      await timed('awsLoad', async () => {
        for (let run = 0; run < 20; run++) {
          const summary = await loaderHandler(scheduledEvent());
          loads.push(summary);
          expect(summary.manifestsFailed, JSON.stringify(summary.failures)).toBe(0);
          if (summary.status === 'completed' && summary.manifestsLoaded === 0) return;
          if (summary.status === 'locked') await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error('the loader Lambda still had manifests pending after 20 runs');
      });
    };

    // --- the local path's wiring ----------------------------------------------------------------
    const localConfig = loadConfig({ ...local, stateDir: path.join(stateDir, 'local'), logLevel: 'silent' }, {});
    const syncs: SyncSummary[] = [];
    const localRound = async () => {
      syncs.push(await timed('localSync', () => syncPipeline({ config: localConfig, sourceUrl: source.url, warehouseUrl: localWarehouse.url, logger: silentLogger })));
    };

    // --- the run --------------------------------------------------------------------------------
    const seed = await timed('seed', () => seedTotesys(source.url, { scale: SEED_SCALE, seed: 2024 }));
    // Both captures snapshot the same seeded state: nothing writes to the source in between.
    await awsRound();
    await localRound();
    const simulations: SimulatorSummary[] = [];
    simulations.push(await timed('simulate', () => runSimulator(source.url, { ratePerSecond: 5_000, changes: SIMULATED_CHANGES / 2, seed: 7 })));
    // The poison record reaches the stream between real changes (the capture of the first half
    // runs first), so it arrives inside a batch of valid records.
    const awsHalf = await timed('awsCapture', () => captureToKinesis());
    const poison = await kinesis.client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'sales_order:poison', Data: Buffer.from(POISON) }));
    simulations.push(await timed('simulate', () => runSimulator(source.url, { ratePerSecond: 5_000, changes: SIMULATED_CHANGES / 2, seed: 8 })));
    await awsRound();
    await localRound();

    // --- every batch succeeded; the poison record was quarantined, never reported -----------------
    expect(awsCaptures.map((c) => c.reason)).toEqual(['stop-lsn-reached', 'stop-lsn-reached', 'stop-lsn-reached']);
    expect(awsHalf.eventsPublished).toBeGreaterThan(0);
    expect(awsCaptures[0].snapshotTaken).toBe(true);
    expect(awsCaptures[0].snapshotRows).toBe(seed.totalRows);
    expect(syncs[0].capture.snapshotRows).toBe(seed.totalRows);
    const recordsDelivered = invocations.reduce((n, i) => n + i.records, 0);
    expect(invocations.filter((i) => i.batchItemFailures.length > 0 || i.error)).toEqual([]);
    expect(recordsDelivered).toBe(awsCaptures.reduce((n, c) => n + c.eventsPublished + c.reconcileRecords, 0) + 1);
    expect(new Set(invocations.map((i) => i.shardId)).size).toBe(KINESIS_SHARDS);
    expect(Math.max(...invocations.map((i) => i.records))).toBeLessThanOrEqual(BATCH_SIZE);
    expect(invocations.length).toBeGreaterThan(2 * KINESIS_SHARDS);

    const quarantined: string[] = [];
    for await (const object of processed.list('quarantine/')) quarantined.push(object.key);
    expect(quarantined).toHaveLength(1);
    const entry = JSON.parse(Buffer.from(await processed.get(quarantined[0])).toString('utf8'));
    expect(entry).toMatchObject({ reason: 'malformed-json', record: POISON, recordEncoding: 'utf8', shardId: poison.ShardId, sequenceNumber: poison.SequenceNumber });
    const poisonBatch = invocations.find((i) => BigInt(i.firstSequenceNumber) <= BigInt(poison.SequenceNumber!) && BigInt(poison.SequenceNumber!) <= BigInt(i.lastSequenceNumber) && i.shardId === poison.ShardId);
    expect(poisonBatch?.records, 'records in the batch that carried the poison record').toBeGreaterThan(1);
    expect(poisonBatch?.firstSequenceNumber).not.toBe(poison.SequenceNumber);
    const quarantineMetric = processorEmf.map((line) => JSON.parse(line)).filter((m) => m.eventsQuarantined !== undefined);
    expect(quarantineMetric.reduce((n, m) => n + m.eventsQuarantined, 0)).toBe(1);

    // --- the loader Lambda got its warehouse from the secret and loaded every manifest ------------
    expect(new Set(secretRequests)).toEqual(new Set([SECRET_ARN]));
    expect(secretRequests).toHaveLength(1); // fetched once per container, then cached with the pool
    expect(loaderEmf).toHaveLength(loads.length);
    const manifestKeys: string[] = [];
    for await (const object of processed.list('manifests/')) manifestKeys.push(object.key);
    const manifestsLoaded = loads.reduce((n, l) => n + l.manifestsLoaded, 0);
    expect(manifestKeys.length).toBeGreaterThan(2 * KINESIS_SHARDS);
    expect(manifestsLoaded).toBe(manifestKeys.length);
    const ledger = await dumpLedger(awsWarehouse.url);
    expect(ledger.sort()).toEqual(manifestKeys.slice().sort());

    // --- Parquet on S3 read back by an independent reader (DuckDB) matches the AWS warehouse ------
    const manifests = await Promise.all(manifestKeys.map(async (key) => JSON.parse(Buffer.from(await processed.get(key)).toString('utf8')) as BatchManifest));
    const paymentFile = manifests.flatMap((m) => m.files).find((f) => f.table === 'fact_payment' && f.rows > 1)!;
    expect(paymentFile).toBeDefined();
    const parquet = await readParquetWithDuckDb(await processed.get(paymentFile.key), 'SELECT event_id, payment_id, payment_amount::VARCHAR AS payment_amount, paid FROM file ORDER BY event_id');
    expect(parquet.rows).toHaveLength(paymentFile.rows);
    const loaded = await queryRows(
      awsWarehouse.url,
      'SELECT event_id, payment_id, payment_amount::text AS payment_amount, paid FROM star.fact_payment WHERE event_id = ANY($1::text[]) ORDER BY event_id',
      [parquet.rows.map((r) => r.event_id)],
    );
    expect(loaded).toEqual(parquet.rows);

    // --- the two warehouses, table by table ------------------------------------------------------
    const [awsDump, localDump] = await Promise.all([dumpWarehouse(awsWarehouse.url), dumpWarehouse(localWarehouse.url)]);
    const awsSnapshotLsn = await snapshotLsnOf(source.url, aws.publicationName);
    const localSnapshotLsn = await snapshotLsnOf(source.url, local.publicationName);
    const awsNormal = normalizeSnapshotPoint(awsDump, awsSnapshotLsn);
    const localNormal = normalizeSnapshotPoint(localDump, localSnapshotLsn);
    for (const table of WAREHOUSE_TABLES) expect(awsNormal.dump[table], table).toEqual(localNormal.dump[table]);
    expect(awsNormal.replaced).toBe(localNormal.replaced);

    // The comparison compared a real history: snapshot rows, inserts, updates and deletes.
    const ops = new Map<string, number>();
    for (const table of ['fact_sales_order', 'fact_purchase_order', 'fact_payment'] as const) {
      const op = WAREHOUSE_MODEL[table].columns.findIndex((c) => c.name === 'op');
      for (const row of awsDump[table]) ops.set(row[op], (ops.get(row[op]) ?? 0) + 1);
    }
    for (const op of ['r', 'c', 'u', 'd']) expect(ops.get(op) ?? 0, `facts with op ${op}`).toBeGreaterThan(0);
    const factRows = [...ops.values()].reduce((a, b) => a + b, 0);
    const streamedEvents = awsCaptures[1].eventsPublished + awsCaptures[2].eventsPublished;
    expect(streamedEvents).toBe(syncs[1].capture.eventsPublished);

    // Join state really lived in DynamoDB.
    const stateItems = await dynamo.client.send(new ScanCommand({ TableName: STATE_TABLE, Select: 'COUNT' }));
    expect(stateItems.Count ?? 0).toBeGreaterThan(seed.rowCounts.staff);

    console.info(
      JSON.stringify({
        measured: 'aws-shaped-pipeline',
        seedRows: seed.totalRows,
        simulatedChanges: simulations.reduce((n, x) => n + x.changes, 0),
        simulatedByKind: simulations.map((x) => x.byKind),
        streamedEvents,
        kinesisRecords: recordsDelivered,
        lambdaInvocations: invocations.length,
        manifests: manifestKeys.length,
        loaderInvocations: loads.length,
        factRows,
        factOps: Object.fromEntries(ops),
        normalizedSnapshotCells: awsNormal.replaced,
        stateItems: stateItems.Count,
        timingsMs: timings,
      }),
    );
  });
});

async function queryRows(url: string, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function dumpLedger(url: string): Promise<string[]> {
  return (await queryRows(url, 'SELECT manifest_key FROM star.load_ledger', [])).map((r) => r.manifest_key as string);
}
