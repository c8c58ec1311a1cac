import { loadConfig } from '../../platform/config.js';
import { ConfigError } from '../../platform/errors.js';
import { createLogger } from '../../platform/logger.js';
import { embeddedMetricFormat } from '../processor-metrics.js';
import { createJoinStateStore } from '../state/create-state-store.js';
import type { KinesisHandlerDeps } from './kinesis-handler-deps.js';
import { createObjectStore } from '../../bucket/create-object-store.js';

/**
 * The Lambda's dependencies from its environment (set by infra/constructs/processor.ts):
 * TOTESYS_BUCKETS=s3, TOTESYS_PROCESSED_BUCKET, TOTESYS_STATE_STORE=dynamodb, TOTESYS_DYNAMODB_TABLE,
 * optional TOTESYS_S3_ENDPOINT / TOTESYS_DYNAMODB_ENDPOINT (emulators), AWS_REGION, TOTESYS_LOG_LEVEL.
 * A Lambda has no durable local disk, so local buckets or local state are a configuration error.
 */
export async function buildLambdaDeps(env: Record<string, string | undefined> = process.env): Promise<KinesisHandlerDeps> {
  const config = loadConfig({}, env, '/tmp');
  if (config.buckets.kind !== 's3') throw new ConfigError('the processor Lambda needs S3 buckets: set TOTESYS_BUCKETS=s3 and TOTESYS_PROCESSED_BUCKET');
  if (config.stateStore.kind !== 'dynamodb') throw new ConfigError('the processor Lambda needs DynamoDB join state: set TOTESYS_STATE_STORE=dynamodb and TOTESYS_DYNAMODB_TABLE');
  const logger = createLogger({ service: 'stream-processor', level: config.logLevel });
  const processed = createObjectStore(config, 'processed');
  const state = await createJoinStateStore(config, logger);
  return { state, processed, logger, metrics: embeddedMetricFormat('stream-processor') };
}
