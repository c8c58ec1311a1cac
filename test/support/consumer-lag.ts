import type { Config } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { createChangeStreamConsumer } from '../../stream/create-change-stream.js';

/** The records after `consumerName`'s checkpoint, all shards, read by a probe of that name (lag()). */
export async function lagOf(config: Readonly<Config>, consumerName: string): Promise<number> {
  const probe = await createChangeStreamConsumer(config, consumerName, silentLogger);
  try {
    return (await probe.lag()).reduce((n, shard) => n + shard.records, 0);
  } finally {
    await probe.close();
  }
}
