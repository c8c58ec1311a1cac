import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import type { JoinStateStore } from './join-state-store.js';
import { LocalJoinStateStore } from './local-join-state-store.js';

/**
 * The join state adapter the configuration asks for: embedded on disk, or DynamoDB. The DynamoDB
 * adapter (and the AWS SDK under it) is loaded only when asked for: the processor's worker thread
 * loads its modules afresh at every start of `up`/`sync`, and the SDK was a large part of that.
 */
export async function createJoinStateStore(config: Readonly<Config>, logger: Logger): Promise<JoinStateStore> {
  const store = config.stateStore;
  if (store.kind === 'dynamodb') {
    logger.info('join state in DynamoDB', { table: store.tableName, endpoint: store.endpoint });
    const { DynamoDbJoinStateStore } = await import('./dynamodb-join-state-store.js');
    return DynamoDbJoinStateStore.fromConfig(store);
  }
  logger.info('join state on disk', { dir: config.paths.stateStoreDir });
  return LocalJoinStateStore.open(config.paths.stateStoreDir, logger);
}
