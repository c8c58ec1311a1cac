import type { ScheduledEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createScheduleHandler } from '../../loader/lambda/schedule-handler.js';
import type { LoadPendingOptions, LoadSummary } from '../../loader/run-loader.js';
import { PipelineError } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';

/**
 * A draining loader invocation that fails on a transient error (an S3 500 after the SDK's
 * retries, a lost connection) drains on after a backoff instead of losing the rest of its minute;
 * anything else, or an error with no time left in the drain, still fails the invocation. The
 * load itself is a stand-in here (the pool is never connected); run-loader's own tests cover it.
 */
const secret = JSON.stringify({ host: '127.0.0.1', port: 1, username: 'loader', password: 'not-used', dbname: 'warehouse' });
const summary = (over: Partial<LoadSummary> = {}) => ({ status: 'completed', schema: 'star', manifestsLoaded: 1 } as LoadSummary & typeof over);

function handlerWith(load: (options: LoadPendingOptions) => Promise<LoadSummary>, drainWindowMs: number) {
  return createScheduleHandler({
    getSecret: async () => secret,
    openProcessedStore: () => new LocalDirObjectStore('/nonexistent-processed'),
    env: { TOTESYS_WAREHOUSE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:1:secret:wh', TOTESYS_LOADER_DRAIN_WINDOW_MS: String(drainWindowMs), TOTESYS_LOADER_POLL_INTERVAL_MS: '50' },
    logger: silentLogger,
    writeMetrics: () => undefined,
    watermarkMetricIntervalMs: 0,
    load,
  });
}
const tick = () => ({ id: 'tick', time: new Date().toISOString() }) as ScheduledEvent;
const s3Down = () => new PipelineError('S3 list in s3://processed/ failed: We encountered an internal error', { retryable: true });

describe('loader Lambda: a transient failure mid-drain', () => {
  it('drains on with the same deadline after a backoff (the run is idempotent)', async () => {
    const calls: LoadPendingOptions[] = [];
    const handler = handlerWith(async (options) => {
      calls.push(options);
      if (calls.length < 3) throw s3Down();
      return summary();
    }, 3_000);
    await expect(handler(tick())).resolves.toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.drainUntilMs)).size).toBe(1);
  });

  it('a permanent error fails the invocation at once', async () => {
    let calls = 0;
    const handler = handlerWith(async () => {
      calls++;
      throw new PipelineError('bad manifest layout', { retryable: false });
    }, 3_000);
    await expect(handler(tick())).rejects.toThrow(/bad manifest layout/);
    expect(calls).toBe(1);
  });

  it('without time left in the drain, or in a one-pass run, the transient error fails the invocation', async () => {
    let calls = 0;
    const draining = handlerWith(async () => {
      calls++;
      throw s3Down();
    }, 300);
    const started = Date.now();
    await expect(draining(tick())).rejects.toThrow(/internal error/);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(2_000);
    calls = 0;
    const onePass = handlerWith(async () => {
      calls++;
      throw s3Down();
    }, 0);
    await expect(onePass(tick())).rejects.toThrow(/internal error/);
    expect(calls).toBe(1);
  });
});
