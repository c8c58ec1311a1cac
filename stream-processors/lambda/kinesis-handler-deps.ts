import type { ObjectStore } from '../../bucket/object-store.js';
import type { Logger } from '../../platform/logger.js';
import type { MetricsSink } from '../processor-metrics.js';
import type { JoinStateStore } from '../state/join-state-store.js';

/** What the Kinesis handler needs; built from the Lambda's environment by lambda-deps.ts, or given by tests. */
export interface KinesisHandlerDeps {
  state: JoinStateStore;
  processed: ObjectStore;
  logger: Logger;
  metrics?: MetricsSink;
  prefix?: string;
}
