import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../platform/errors.js';
import { readJsonFile, writeFileDurable } from '../../platform/atomic-file.js';
import { SEQUENCE_DIGITS, formatSequenceNumber } from './sequence-number.js';
import { shardIdOf } from './shard-of-key.js';

/**
 * Directory layout of the local log:
 *
 *   <dir>/meta.json                                   { format, shards }: fixed at creation
 *   <dir>/writer.lock                                 pid of the one writer process
 *   <dir>/shards/<shardId>/<baseOffset>.seg           append-only segments; the name is the offset
 *                                                     (20 digits) of the segment's first record
 *   <dir>/consumers/<name>/                           a registered consumer (mkdir = registration)
 *   <dir>/consumers/<name>/<shardId>.checkpoint.json  its checkpoint in that shard
 */
const LOG_FORMAT = 1;
const SEGMENT_SUFFIX = '.seg';

export interface LogMeta {
  format: number;
  shards: number;
}

export class LogLayout {
  constructor(readonly dir: string) {}

  get metaFile(): string {
    return path.join(this.dir, 'meta.json');
  }
  get lockFile(): string {
    return path.join(this.dir, 'writer.lock');
  }
  get consumersDir(): string {
    return path.join(this.dir, 'consumers');
  }
  shardDir(shard: number): string {
    return path.join(this.dir, 'shards', shardIdOf(shard));
  }
  segmentFile(shard: number, baseOffset: number): string {
    return path.join(this.shardDir(shard), formatSequenceNumber(baseOffset) + SEGMENT_SUFFIX);
  }
  consumerDir(consumerName: string): string {
    return path.join(this.consumersDir, consumerName);
  }
  checkpointFile(consumerName: string, shard: number): string {
    return path.join(this.consumerDir(consumerName), `${shardIdOf(shard)}.checkpoint.json`);
  }

  /** Base offsets of the shard's segments, ascending. */
  async segmentBases(shard: number): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.shardDir(shard));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((n) => n.endsWith(SEGMENT_SUFFIX) && n.length === SEQUENCE_DIGITS + SEGMENT_SUFFIX.length)
      .map((n) => Number(n.slice(0, SEQUENCE_DIGITS)))
      .sort((a, b) => a - b);
  }

  async registeredConsumers(): Promise<string[]> {
    try {
      const entries = await fs.readdir(this.consumersDir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /**
   * Creates the log (meta.json) or checks that an existing one has the same shard count: changing
   * it would send a key's later records to another shard, breaking per-key order.
   */
  async ensureMeta(shards: number): Promise<LogMeta> {
    const existing = await readJsonFile<LogMeta>(this.metaFile);
    if (existing) {
      if (existing.format !== LOG_FORMAT) throw new UserError(`the stream log at ${this.dir} has format ${existing.format}, this version reads format ${LOG_FORMAT}`);
      if (existing.shards !== shards) {
        throw new UserError(
          `the stream log at ${this.dir} has ${existing.shards} shards but ${shards} were configured: use --stream-shards ${existing.shards}, or let every consumer catch up and delete the directory`,
        );
      }
      return existing;
    }
    await fs.mkdir(this.dir, { recursive: true });
    const meta: LogMeta = { format: LOG_FORMAT, shards };
    await writeFileDurable(this.metaFile, JSON.stringify(meta) + '\n');
    return meta;
  }
}
