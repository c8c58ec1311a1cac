import path from 'node:path';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { ChangeStreamConsumer, ChangeStreamWriter } from './change-stream.js';
import { openLocalLog } from './local-log/local-log.js';

/**
 * The one place that chooses the change stream adapter from configuration: the local log under
 * `config.paths.streamLog`, or Kinesis. Everything else depends only on the port. The Kinesis
 * adapters (and the AWS SDK under them) are loaded only when asked for: the processor's worker
 * thread loads its modules afresh at every start of `up`/`sync`.
 */
export async function createChangeStreamWriter(config: Readonly<Config>, logger: Logger): Promise<ChangeStreamWriter> {
  const stream = config.stream;
  const log = logger.child({ component: 'change-stream' });
  if (stream.kind === 'local') return openLocalLog(config.paths.streamLog, { shards: stream.shards, logger: log }).writer();
  const [{ createKinesisClient }, { KinesisChangeStreamWriter }] = await Promise.all([import('./kinesis/create-kinesis-client.js'), import('./kinesis/kinesis-change-stream-writer.js')]);
  return new KinesisChangeStreamWriter(createKinesisClient({ region: stream.region, endpoint: stream.endpoint }), { streamName: stream.streamName, logger: log });
}

export async function createChangeStreamConsumer(config: Readonly<Config>, consumerName: string, logger: Logger): Promise<ChangeStreamConsumer> {
  const stream = config.stream;
  const log = logger.child({ component: 'change-stream', consumer: consumerName });
  if (stream.kind === 'local') return openLocalLog(config.paths.streamLog, { shards: stream.shards, logger: log }).consumer(consumerName);
  const [{ FileCheckpointStore }, { createKinesisClient }, { KinesisChangeStreamConsumer }] = await Promise.all([
    import('./kinesis/checkpoint-store.js'),
    import('./kinesis/create-kinesis-client.js'),
    import('./kinesis/kinesis-change-stream-consumer.js'),
  ]);
  return new KinesisChangeStreamConsumer(createKinesisClient({ region: stream.region, endpoint: stream.endpoint }), {
    streamName: stream.streamName,
    consumerName,
    checkpointStore: new FileCheckpointStore(kinesisCheckpointDir(config, stream.streamName)),
    logger: log,
  });
}

/** Checkpoints of local Kinesis consumers: `<stateDir>/kinesis-checkpoints/<stream>/<consumer>.json`. */
function kinesisCheckpointDir(config: Readonly<Config>, streamName: string): string {
  return path.join(config.stateDir, 'kinesis-checkpoints', streamName);
}
