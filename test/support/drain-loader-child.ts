import type { ScheduledEvent } from 'aws-lambda';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { createScheduleHandler } from '../../loader/lambda/schedule-handler.js';

/**
 * One scheduled invocation of the real loader Lambda handler in its own process, so a test can
 * SIGKILL it mid-drain. LOADER_SECRET: the RDS secret JSON; LOADER_DIR: the processed bucket
 * directory; the drain settings come from TOTESYS_LOADER_DRAIN_WINDOW_MS / _POLL_INTERVAL_MS.
 * Prints `started` once the handler is called, then the summary.
 */
const handler = createScheduleHandler({
  getSecret: async () => process.env.LOADER_SECRET,
  openProcessedStore: () => new LocalDirObjectStore(process.env.LOADER_DIR!),
  env: { ...process.env, TOTESYS_WAREHOUSE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:1:secret:wh' },
  logger: silentLogger,
  writeMetrics: () => undefined,
});
const event = { id: `tick-${process.pid}`, time: new Date().toISOString(), 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;
process.stdout.write('started\n');
const summary = await handler(event, { getRemainingTimeInMillis: () => 300_000 });
process.stdout.write(JSON.stringify(summary) + '\n');
