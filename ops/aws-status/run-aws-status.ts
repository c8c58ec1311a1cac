import { createObjectStore } from '../../bucket/create-object-store.js';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { readWarehouseStatus } from '../../loader/warehouse-status.js';
import type { Config } from '../../platform/config.js';
import { ConfigError } from '../../platform/errors.js';
import { createCloudWatchClient, createSqsClient } from '../aws-clients.js';
import { queueDepth } from '../dlq-redrive/dead-letter-queue.js';
import { readAwsStatus, type AwsStatus } from './aws-status.js';
import { readMetrics } from './cloudwatch-metrics.js';
import { summariseQuarantine } from './quarantine-summary.js';

export interface AwsStatusTargets {
  sourceUrl?: string;
  warehouseUrl?: string;
  queueUrl?: string;
  processorFunctionName?: string;
  cloudwatchEndpoint?: string;
  sqsEndpoint?: string;
  windowMinutes?: number;
}

/** Production wiring of the ports: real SDK clients, the source and warehouse over SQL. */
export async function runAwsStatus(config: Readonly<Config>, targets: AwsStatusTargets): Promise<AwsStatus> {
  if (config.stream.kind !== 'kinesis') throw new ConfigError('status --aws reads the Kinesis deployment: set --stream kinesis / TOTESYS_STREAM=kinesis and --kinesis-stream-name');
  if (config.buckets.kind !== 's3') throw new ConfigError('status --aws reads the processed bucket in S3: set TOTESYS_BUCKETS=s3 and TOTESYS_PROCESSED_BUCKET');
  const region = config.stream.region;
  const cloudwatch = createCloudWatchClient({ region, endpoint: targets.cloudwatchEndpoint });
  const sqs = targets.queueUrl ? createSqsClient({ region, endpoint: targets.sqsEndpoint }) : undefined;
  const processed = createObjectStore(config, 'processed');
  const missing = (what: string) => () => Promise.reject(new ConfigError(`no ${what} configured`));
  try {
    return await readAwsStatus(
      {
        slot: targets.sourceUrl ? () => readSlotStatus(targets.sourceUrl!, config.capture.slotName, config.capture.publicationName) : missing('source (--source-url, or the TOTESYS_SOURCE_* secret fields)'),
        metrics: (queries, window) => readMetrics(cloudwatch, queries, window),
        ...(sqs && targets.queueUrl ? { deadLetterQueue: () => queueDepth(sqs, targets.queueUrl!) } : {}),
        quarantine: () => summariseQuarantine(processed),
        warehouse: targets.warehouseUrl ? () => readWarehouseStatus(targets.warehouseUrl!, config.warehouseSchema) : missing('warehouse (--warehouse-url or TOTESYS_WAREHOUSE_SECRET_ARN)'),
      },
      { names: { slotName: config.capture.slotName, streamName: config.stream.streamName, processorFunctionName: targets.processorFunctionName }, windowMinutes: targets.windowMinutes },
    );
  } finally {
    cloudwatch.destroy();
    sqs?.destroy();
  }
}
