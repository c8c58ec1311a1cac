import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { DynamoDbJoinStateStore } from './dynamodb-join-state-store.js';
import type { JoinStateStore } from './join-state-store.js';
import { LocalJoinStateStore } from './local-join-state-store.js';

/** The join state adapter the configuration asks for: embedded on disk, or DynamoDB. */
export async function createJoinStateStore(config: Readonly<Config>, logger: Logger): Promise<JoinStateStore> {
  const store = config.stateStore;
  if (store.kind === 'dynamodb') {
    logger.info('join state in DynamoDB', { table: store.tableName, endpoint: store.endpoint });
    return DynamoDbJoinStateStore.fromConfig(store);
  }
  logger.info('join state on disk', { dir: config.paths.stateStoreDir });
  return LocalJoinStateStore.open(config.paths.stateStoreDir, logger);
}
