import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { formatLsn, type Lsn } from '../../contracts/lsn.js';
import { serializeWatermark } from '../../contracts/watermark.js';
import type { ChangeStreamWriter } from '../../stream/change-stream.js';
import type { ShardMap } from './watermark-shard-map.js';

/**
 * Turns the capture's heartbeats into watermark records (contracts/watermark.ts) on every open
 * shard. The replication session reports two things (its only hooks):
 *  - heartbeatSeen: our heartbeat message at `lsn`, outside any transaction; its content is the
 *    time the capture read BEFORE writing it, so every transaction committed before that time has
 *    its commit record before `lsn`;
 *  - durableUpTo: every event before this WAL position is durable in the stream.
 * A watermark is put only once every event before its heartbeat is durable, in a put of its own:
 * on each shard it lands after every change it covers, whatever the writer's per-key ordering does
 * with other keys. Best effort and never blocking: one put at a time, newer heartbeats replace an
 * older one waiting behind it, a failed put is logged and the next heartbeat carries a newer one
 * (the watermark age then grows by a heartbeat interval, which is the truth).
 */
export interface WatermarkPublisherOptions {
  writer: ChangeStreamWriter;
  shardMap: ShardMap;
  logger: Logger;
  /** Called after each watermark is durable on every open shard (tests, status). */
  onPublished?: (watermark: { ts: string; lsn: string; shards: number }) => void;
}

export class WatermarkPublisher {
  /** Heartbeats seen whose preceding events are not all durable yet, in WAL order. */
  private waiting: { ts: string; lsn: Lsn }[] = [];
  private ready: { ts: string; lsn: Lsn } | null = null;
  private putting = false;
  private closed = false;
  private warned = false;

  constructor(private readonly o: WatermarkPublisherOptions) {}

  heartbeatSeen(content: string, lsn: Lsn): void {
    if (this.closed || Number.isNaN(Date.parse(content))) return;
    this.waiting.push({ ts: new Date(Date.parse(content)).toISOString(), lsn });
    if (this.waiting.length > 64) this.waiting.shift(); // stream stalled: keep the newest ones
  }

  durableUpTo(confirmed: Lsn): void {
    if (this.waiting.length === 0 || this.closed) return;
    let i = 0;
    while (i < this.waiting.length && this.waiting[i].lsn <= confirmed) i++;
    if (i === 0) return;
    this.ready = this.waiting[i - 1];
    this.waiting.splice(0, i);
    if (!this.putting) void this.pump();
  }

  close(): void {
    this.closed = true;
    this.waiting = [];
    this.ready = null;
  }

  private async pump(): Promise<void> {
    this.putting = true;
    try {
      while (this.ready && !this.closed) {
        const { ts, lsn } = this.ready;
        this.ready = null;
        try {
          const targets = await this.o.shardMap.watermarkTargets();
          const openShards = targets.map((t) => t.shardId);
          const data = Buffer.from(serializeWatermark({ ts, lsn: formatLsn(lsn), openShards }));
          await this.o.writer.put(targets.map((t) => ({ partitionKey: t.partitionKey, data })));
          this.warned = false;
          this.o.onPublished?.({ ts, lsn: formatLsn(lsn), shards: targets.length });
        } catch (error) {
          if (!this.warned) this.o.logger.warn('publishing a watermark failed; the next heartbeat carries a newer one', { error: errorMessage(error) });
          this.warned = true;
        }
      }
    } finally {
      this.putting = false;
    }
  }
}
