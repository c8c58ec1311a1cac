import fs from 'node:fs/promises';
import path from 'node:path';
import { readJsonFile, writeFileDurable } from '../../platform/atomic-file.js';
import { assertConsumerName } from '../stream-errors.js';

/** Where a Kinesis consumer keeps its per-shard checkpoints (pluggable: a file, DynamoDB, …). */
export interface CheckpointStore {
  load(consumerName: string, shardId: string): Promise<string | undefined>;
  save(consumerName: string, shardId: string, sequenceNumber: string): Promise<void>;
}

/**
 * Checkpoints as one JSON file per consumer (`<dir>/<consumer>.json`: shardId → sequence number),
 * replaced atomically on every save so a kill -9 leaves the old or the new version. One process per
 * consumer name (like a lease holder); the file is read once and then served from memory.
 */
export class FileCheckpointStore implements CheckpointStore {
  private readonly cache = new Map<string, Record<string, string>>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  async load(consumerName: string, shardId: string): Promise<string | undefined> {
    return (await this.checkpointsOf(consumerName))[shardId];
  }

  save(consumerName: string, shardId: string, sequenceNumber: string): Promise<void> {
    const run = this.writes.then(async () => {
      const checkpoints = { ...(await this.checkpointsOf(consumerName)), [shardId]: sequenceNumber };
      await fs.mkdir(this.dir, { recursive: true });
      await writeFileDurable(this.fileOf(consumerName), JSON.stringify(checkpoints, null, 2) + '\n');
      this.cache.set(consumerName, checkpoints);
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async checkpointsOf(consumerName: string): Promise<Record<string, string>> {
    let checkpoints = this.cache.get(consumerName);
    if (!checkpoints) {
      checkpoints = (await readJsonFile<Record<string, string>>(this.fileOf(consumerName))) ?? {};
      this.cache.set(consumerName, checkpoints);
    }
    return checkpoints;
  }

  private fileOf(consumerName: string): string {
    assertConsumerName(consumerName);
    return path.join(this.dir, `${consumerName}.json`);
  }
}
