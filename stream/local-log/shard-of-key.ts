import crypto from 'node:crypto';

// One-shot crypto.hash (Node >= 20.12) is several times cheaper than createHash per key.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;
const md5 = (key: string): Buffer => (oneShotHash ? oneShotHash('md5', key, 'buffer') : crypto.createHash('md5').update(key, 'utf8').digest());

/**
 * The shard of a partition key, as Kinesis computes it for a stream whose shards split the hash key
 * space evenly: MD5 of the UTF-8 key read as a 128-bit unsigned integer, mapped to
 * floor(hash * shards / 2^128). Stable across processes and versions: records of one key always land
 * on the same shard as long as the shard count does not change (the log refuses to reopen with
 * another shard count for that reason).
 */
export function shardIndexOfKey(partitionKey: string, shards: number): number {
  const digest = md5(partitionKey);
  // floor(hash * shards / 2^128), exactly, from the two 64-bit halves of the digest.
  const n = BigInt(shards);
  const high = digest.readBigUInt64BE(0) * n;
  const lowCarry = (digest.readBigUInt64BE(8) * n) >> 64n;
  return Number((high + lowCarry) >> 64n);
}

/** Shard ids look like Kinesis's (`shardId-000000000000`) so logs and metrics read the same. */
export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}
