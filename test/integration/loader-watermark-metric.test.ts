import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeWatermark } from '../../contracts/watermark.js';
import { createScheduleHandler } from '../../loader/lambda/schedule-handler.js';
import { silentLogger } from '../../platform/logger.js';
import { METRIC } from '../../platform/metrics.js';
import { processRecords } from '../../stream-processors/process-records.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, type ProcessedBucket } from '../support/processed-batch-factory.js';

/**
 * A draining loader run writes the warehouse watermark's age while it drains, not only when it
 * ends: with one line per run, a 58 s drain's line lands within a second of the minute's end and
 * now and then in the next minute, leaving a 1-minute period of the WarehouseStale alarm (missing =
 * breaching) empty on a healthy pipeline (test/infra/warehouse-stale-alarm.test.ts). Real warehouse
 * Postgres; the watermark comes from a real watermark record through the processor.
 */
describe('loader Lambda: watermark age while draining', () => {
  let db: TestDatabase;
  let bucket: ProcessedBucket;
  const secretArn = 'arn:aws:secretsmanager:eu-west-2:1:secret:wh';
  const watermarkTs = Date.now() - 5_000;
  beforeAll(async () => {
    db = await createTestDatabase('loader_watermark_metric');
    bucket = await createProcessedBucket();
    const data = Buffer.from(serializeWatermark({ ts: new Date(watermarkTs).toISOString(), lsn: '0/16B3748', openShards: ['shardId-000000000000'] }));
    await processRecords([{ shardId: 'shardId-000000000000', sequenceNumber: '1', data, arrivalMs: Date.now() }], { state: new MemoryJoinStateStore(), processed: bucket.store, logger: silentLogger });
  });
  afterAll(async () => {
    await db.drop();
    await bucket.cleanup();
  });

  const handlerFor = (drainWindowMs: number, metrics: string[], watermarkMetricIntervalMs?: number) => {
    const u = new URL(db.url);
    const secret = JSON.stringify({ host: u.hostname, port: Number(u.port), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password), dbname: u.pathname.slice(1) });
    return createScheduleHandler({
      getSecret: async () => secret,
      openProcessedStore: () => bucket.store,
      env: { TOTESYS_WAREHOUSE_SECRET_ARN: secretArn, TOTESYS_LOADER_DRAIN_WINDOW_MS: String(drainWindowMs), TOTESYS_LOADER_POLL_INTERVAL_MS: '100' },
      logger: silentLogger,
      writeMetrics: (line) => metrics.push(line),
      watermarkMetricIntervalMs,
    });
  };
  const tick = () => ({ id: `tick-${Date.now()}`, time: new Date().toISOString(), 'detail-type': 'Scheduled Event', source: 'aws.events' }) as ScheduledEvent;
  const ages = (metrics: string[]) =>
    metrics.map((line) => JSON.parse(line) as Record<string, any>).filter((emf) => emf[METRIC.warehouseWatermarkAgeMs] !== undefined).map((emf) => ({ at: emf._aws.Timestamp as number, ageMs: emf[METRIC.warehouseWatermarkAgeMs] as number, status: emf.status as string }));

  it('a draining run writes the age every interval while it drains, then its end-of-run line', async () => {
    const metrics: string[] = [];
    const started = Date.now();
    const summary = await handlerFor(2_000, metrics, 300)(tick());
    expect(summary).toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    const series = ages(metrics);
    const during = series.filter((p) => p.status === 'draining');
    // 2 s of drain at 300 ms: about 6 lines; the shared machine may skip a few.
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(series.at(-1)!.status).toBe('completed');
    for (const p of series) {
      // The age is now − the watermark (the record's ts), read just before the line was written.
      expect(p.ageMs).toBeGreaterThanOrEqual(p.at - watermarkTs - 1_000);
      expect(p.ageMs).toBeLessThanOrEqual(p.at - watermarkTs + 1);
      expect(p.at).toBeGreaterThanOrEqual(started);
    }
    expect(series.map((p) => p.at)).toEqual([...series.map((p) => p.at)].sort((a, b) => a - b));
    // The CloudWatch metric definition is the one the alarm watches.
    const emf = JSON.parse(metrics[0]!);
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Dimensions: [['service']], Metrics: [{ Name: METRIC.warehouseWatermarkAgeMs, Unit: expect.any(String) }] });
    expect(emf.service).toBe('loader');
  });

  it('a one-pass run (drain window 0) writes only its end-of-run line', async () => {
    const metrics: string[] = [];
    await handlerFor(0, metrics, 100)(tick());
    expect(ages(metrics).map((p) => p.status)).toEqual(['completed']);
  });
});
