import { createHash } from 'node:crypto';

const HASH_SPACE = 1n << 128n;

/**
 * The shard of a partition key, as Kinesis computes it for a stream whose shards split the hash key
 * space evenly: MD5 of the UTF-8 key read as a 128-bit unsigned integer, mapped to
 * floor(hash * shards / 2^128). Stable across processes and versions: records of one key always land
 * on the same shard as long as the shard count does not change (the log refuses to reopen with
 * another shard count for that reason).
 */
export function shardIndexOfKey(partitionKey: string, shards: number): number {
  const hash = BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
  return Number((hash * BigInt(shards)) / HASH_SPACE);
}

/** Shard ids look like Kinesis's (`shardId-000000000000`) so logs and metrics read the same. */
export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}
