import crypto from 'node:crypto';
import type { ListShardsCommandOutput } from '@aws-sdk/client-kinesis';
import type { Config } from '../../platform/config.js';
import { WATERMARK_PARTITION_KEY_PREFIX } from '../../contracts/watermark.js';
import type { KinesisSender } from '../../stream/kinesis/create-kinesis-client.js';
import { shardIdOf, shardIndexOfKey } from '../../stream/local-log/shard-of-key.js';

/**
 * Where a watermark must go: every open shard of the stream, each with a partition key that routes
 * to it. The change stream port has no "to this shard" put, so a partition key is searched whose
 * hash falls in each shard's hash-key range (Kinesis: MD5 of the key as a 128-bit integer; the
 * local log maps keys the same way, shard-of-key.ts). Keys are `__totesys_watermark__/<n>`.
 */
export interface WatermarkTarget {
  shardId: string;
  partitionKey: string;
}

export interface ShardMap {
  /** The open shards now, each with a partition key that lands on it. */
  watermarkTargets(): Promise<WatermarkTarget[]>;
}

/** Tries per shard before a (tiny, hand-split) hash range is given up on; an even split needs a handful. */
const MAX_KEY_TRIES = 1_000_000;

/** The local log: `shards` shards splitting the hash space evenly, ids as shard-of-key.ts names them. */
export function localLogShardMap(shards: number): ShardMap {
  const targets: WatermarkTarget[] = [];
  const found = new Map<number, string>();
  for (let n = 0; found.size < shards && n < MAX_KEY_TRIES; n++) {
    const key = `${WATERMARK_PARTITION_KEY_PREFIX}${n}`;
    const index = shardIndexOfKey(key, shards);
    if (!found.has(index)) found.set(index, key);
  }
  for (const [index, partitionKey] of [...found].sort((a, b) => a[0] - b[0])) targets.push({ shardId: shardIdOf(index), partitionKey });
  return { watermarkTargets: async () => targets };
}

/** Kinesis: the open shards from ListShards (refreshed every refreshMs, so a reshard is followed). */
export function kinesisShardMap(client: KinesisSender, streamName: string, refreshMs = 60_000): ShardMap {
  let cached: { at: number; targets: WatermarkTarget[] } | undefined;
  return {
    async watermarkTargets() {
      if (cached && Date.now() - cached.at < refreshMs) return cached.targets;
      const { ListShardsCommand } = await import('@aws-sdk/client-kinesis'); // loaded here only: see shardMapFromConfig
      const ranges: { shardId: string; start: bigint; end: bigint }[] = [];
      let nextToken: string | undefined;
      do {
        const page: ListShardsCommandOutput = await client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }));
        for (const shard of page.Shards ?? []) {
          // Closed shards (parents after a reshard) have an ending sequence number: no new records.
          if (shard.SequenceNumberRange?.EndingSequenceNumber) continue;
          ranges.push({ shardId: shard.ShardId!, start: BigInt(shard.HashKeyRange!.StartingHashKey!), end: BigInt(shard.HashKeyRange!.EndingHashKey!) });
        }
        nextToken = page.NextToken;
      } while (nextToken);
      cached = { at: Date.now(), targets: keysForRanges(ranges) };
      return cached.targets;
    },
  };
}

/** A partition key per hash-key range (ranges as Kinesis reports them, inclusive). */
export function keysForRanges(ranges: readonly { shardId: string; start: bigint; end: bigint }[]): WatermarkTarget[] {
  const found = new Map<string, string>();
  for (let n = 0; found.size < ranges.length && n < MAX_KEY_TRIES; n++) {
    const key = `${WATERMARK_PARTITION_KEY_PREFIX}${n}`;
    const hash = BigInt('0x' + crypto.createHash('md5').update(key, 'utf8').digest('hex'));
    const range = ranges.find((r) => hash >= r.start && hash <= r.end);
    if (range && !found.has(range.shardId)) found.set(range.shardId, key);
  }
  return ranges.filter((r) => found.has(r.shardId)).map((r) => ({ shardId: r.shardId, partitionKey: found.get(r.shardId)! }));
}

/** The shard map of the configured change stream (the same choice create-change-stream.ts makes). */
export function shardMapFromConfig(config: Pick<Readonly<Config>, 'stream'>): ShardMap {
  const stream = config.stream;
  if (stream.kind === 'local') return localLogShardMap(stream.shards);
  // The Kinesis client (and the AWS SDK) loads at the first use: a local capture never loads it.
  let kinesis: Promise<ShardMap> | undefined;
  return {
    watermarkTargets: async () => {
      kinesis ??= import('../../stream/kinesis/create-kinesis-client.js').then(({ createKinesisClient }) => kinesisShardMap(createKinesisClient({ region: stream.region, endpoint: stream.endpoint }), stream.streamName));
      return (await kinesis).watermarkTargets();
    },
  };
}
