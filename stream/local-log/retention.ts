import fs from 'node:fs/promises';
import type { Logger } from '../../platform/logger.js';
import { readJsonFile } from '../../platform/atomic-file.js';
import type { LogLayout } from './log-layout.js';
import { parseSequenceNumber } from './sequence-number.js';
import { shardIdOf } from './shard-of-key.js';

export interface RetentionPolicy {
  /** A fully consumed segment is kept at least this long after its last write (default 24 h). */
  retentionMs: number;
  /** A segment is deleted after this long even if a consumer has not read it (default 7 days). */
  maxRetentionMs: number;
}

export interface SegmentInfo {
  baseOffset: number;
  /** Offset of the segment's last record (the next segment's base - 1). */
  lastOffset: number;
  /** Last write to the segment (its mtime). */
  lastWriteMs: number;
}

export interface RetentionDecision {
  deletable: SegmentInfo[];
  /** Deleted segments that some consumer had not consumed: consumer names per segment. */
  expiredUnconsumed: { segment: SegmentInfo; laggingConsumers: string[] }[];
}

/**
 * Which of a shard's closed segments (every segment but the last, which is being appended to) to
 * delete: those every registered consumer has checkpointed past AND older than `retentionMs`, and
 * those older than `maxRetentionMs` regardless (Kinesis drops records after its retention period
 * too). Only a prefix is deleted, so the retained segments always form one contiguous range.
 * `checkpoints` maps each registered consumer to its checkpointed offset in the shard (-1: none).
 */
export function decideRetention(closedSegments: readonly SegmentInfo[], checkpoints: ReadonlyMap<string, number>, nowMs: number, policy: RetentionPolicy): RetentionDecision {
  const decision: RetentionDecision = { deletable: [], expiredUnconsumed: [] };
  for (const segment of closedSegments) {
    const ageMs = nowMs - segment.lastWriteMs;
    const lagging = [...checkpoints].filter(([, offset]) => offset < segment.lastOffset).map(([name]) => name);
    if (lagging.length === 0 && ageMs > policy.retentionMs) {
      decision.deletable.push(segment);
    } else if (ageMs > policy.maxRetentionMs) {
      decision.deletable.push(segment);
      decision.expiredUnconsumed.push({ segment, laggingConsumers: lagging });
    } else {
      break;
    }
  }
  return decision;
}

/** Applies the retention policy to every shard of the log; returns the number of deleted segments. */
export async function enforceRetention(layout: LogLayout, shards: number, policy: RetentionPolicy, nowMs: number, logger: Logger): Promise<number> {
  const consumers = await layout.registeredConsumers();
  let deleted = 0;
  for (let shard = 0; shard < shards; shard++) {
    const bases = await layout.segmentBases(shard);
    if (bases.length < 2) continue;
    const closed: SegmentInfo[] = [];
    for (let i = 0; i < bases.length - 1; i++) {
      const { mtimeMs } = await fs.stat(layout.segmentFile(shard, bases[i]));
      closed.push({ baseOffset: bases[i], lastOffset: bases[i + 1] - 1, lastWriteMs: mtimeMs });
    }
    const checkpoints = new Map<string, number>();
    for (const name of consumers) checkpoints.set(name, await readCheckpointOffset(layout, name, shard));
    const decision = decideRetention(closed, checkpoints, nowMs, policy);
    for (const { segment, laggingConsumers } of decision.expiredUnconsumed) {
      logger.warn('deleting a stream log segment past max retention that consumers have not consumed', {
        shardId: shardIdOf(shard),
        baseOffset: segment.baseOffset,
        lastOffset: segment.lastOffset,
        laggingConsumers,
      });
    }
    for (const segment of decision.deletable) {
      await fs.rm(layout.segmentFile(shard, segment.baseOffset), { force: true });
      deleted++;
      logger.info('deleted stream log segment', { shardId: shardIdOf(shard), baseOffset: segment.baseOffset, lastOffset: segment.lastOffset });
    }
  }
  return deleted;
}

export interface CheckpointFile {
  sequenceNumber: string;
  updatedAt: string;
}

/** The consumer's checkpointed offset in the shard, -1 when it has none. */
export async function readCheckpointOffset(layout: LogLayout, consumerName: string, shard: number): Promise<number> {
  const file = await readJsonFile<CheckpointFile>(layout.checkpointFile(consumerName, shard));
  return file ? parseSequenceNumber(file.sequenceNumber) : -1;
}
