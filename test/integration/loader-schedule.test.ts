import type { ScheduledEvent } from 'aws-lambda';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../platform/logger.js';
import { METRICS_NAMESPACE } from '../../platform/metrics.js';
import { createScheduleHandler } from '../../loader/lambda/schedule-handler.js';
import { warehouseUrlFromSecret } from '../../loader/lambda/warehouse-secret.js';
import { runLoaderLoop, type LoadSummary } from '../../loader/run-loader.js';
import { readWarehouseStatus } from '../../loader/warehouse-status.js';
import { LATEST_SCHEMA_VERSION } from '../../loader/warehouse-schema.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, paymentFact, staffDim, writeBatch, type ProcessedBucket } from '../support/processed-batch-factory.js';

const event = { id: 'evt-1', 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;

describe('loader schedules and status', () => {
  let db: TestDatabase;
  let bucket: ProcessedBucket;
  beforeAll(async () => {
    db = await createTestDatabase('loader_schedule');
    bucket = await createProcessedBucket();
  });
  afterAll(async () => {
    await db.drop();
    await bucket.cleanup();
  });

  /** The RDS secret JSON for the test database (the same parts RDS stores). */
  const secretFor = (url: string) => {
    const u = new URL(url);
    return JSON.stringify({ engine: 'postgres', host: u.hostname, port: Number(u.port), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), dbname: u.pathname.slice(1) });
  };

  it('parses the RDS secret format, encoding special characters and never echoing the secret', () => {
    const url = warehouseUrlFromSecret('arn:x', JSON.stringify({ host: 'db.example', port: '5433', username: 'loader', password: 'p@ss/w:rd', dbname: 'warehouse' }));
    expect(url).toBe('postgresql://loader:p%40ss%2Fw%3Ard@db.example:5433/warehouse');
    expect(new pg.Client({ connectionString: url }).password).toBe('p@ss/w:rd');
    expect(() => warehouseUrlFromSecret('arn:x', '{"host":"h","password":"hunter2"}')).toThrow(/missing or bad field\(s\): username/);
    expect(() => warehouseUrlFromSecret('arn:x', 'hunter2')).toThrow(/is not JSON$/);
    expect(() => warehouseUrlFromSecret('arn:x', undefined)).toThrow(/no SecretString/);
  });

  it('Lambda handler: fetches the secret once per container, loads into the real warehouse, emits EMF', async () => {
    await writeBatch(bucket.store, { fact_payment: [paymentFact(1, 10n)] });
    let secretCalls = 0;
    const metrics: string[] = [];
    const handler = createScheduleHandler({
      getSecret: async (arn) => {
        secretCalls++;
        expect(arn).toBe('arn:aws:secretsmanager:eu-west-2:1:secret:wh');
        return secretFor(db.url);
      },
      openProcessedStore: () => bucket.store,
      env: { TOTESYS_WAREHOUSE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:1:secret:wh' },
      logger: silentLogger,
      writeMetrics: (line) => metrics.push(line),
    });
    const first = await handler(event);
    expect(first).toMatchObject({ status: 'completed', manifestsLoaded: 1, rowsByTable: { fact_payment: 1 } });
    const second = await handler(event);
    expect(second.manifestsLoaded).toBe(0);
    expect(secretCalls).toBe(1);
    const emf = JSON.parse(metrics[0]);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(['rowsLoaded', 'manifestsLoaded', 'loaderFailures', 'warehouseFreshnessMs']);
    expect(emf).toMatchObject({ rowsLoaded: 1, manifestsLoaded: 1, loaderFailures: 0 });
    expect(emf.warehouseFreshnessMs).toBeGreaterThan(0);
    expect(metrics.join('\n')).not.toContain(new URL(db.url).password);
  });

  it('Lambda handler: a missing secret ARN fails with a message that says what to set', async () => {
    const handler = createScheduleHandler({ getSecret: async () => undefined, openProcessedStore: () => bucket.store, env: {}, logger: silentLogger });
    await expect(handler(event)).rejects.toThrow(/TOTESYS_WAREHOUSE_SECRET_ARN is not set/);
  });

  it('local loop: runs on an interval, never overlaps, stops on abort; status reports the warehouse', async () => {
    const controller = new AbortController();
    const summaries: LoadSummary[] = [];
    const loop = runLoaderLoop({
      warehouseUrl: db.url,
      processed: bucket.store,
      schema: 'star_loop',
      logger: silentLogger,
      intervalMs: 20,
      signal: controller.signal,
      onSummary: (s) => {
        summaries.push(s);
        if (summaries.length === 2) void writeBatch(bucket.store, { dim_staff: [staffDim(1, 5n)] }, { maxCommitTs: '2026-11-22T12:30:00.000Z' });
      },
    });
    for (let i = 0; i < 200 && !summaries.some((s) => s.manifestsLoaded > 0 && s.rowsByTable.dim_staff); i++) await new Promise((r) => setTimeout(r, 25));
    controller.abort();
    await loop;
    expect(summaries.every((s) => s.status === 'completed')).toBe(true); // never locked by itself: no overlapping runs
    expect(summaries.reduce((n, s) => n + s.manifestsLoaded, 0)).toBe(2); // the payment batch and the staff batch

    const status = await readWarehouseStatus(db.url, 'star_loop');
    expect(status).toMatchObject({ initialised: true, schemaVersion: LATEST_SCHEMA_VERSION, manifestsLoaded: 2, failedManifests: 0, parkedManifests: 0 });
    expect(status.rowsByTable).toMatchObject({ fact_payment: 1, dim_staff: 1, dim_currency: 1, dim_date: 2 });
    expect(status.newestCommitTs).toBe('2026-11-22T12:30:00.000Z');
    expect(status.freshnessMs).toBeGreaterThan(0);
    expect(await readWarehouseStatus(db.url, 'not_there')).toMatchObject({ initialised: false, manifestsLoaded: 0 });
  });
});
