import type { ChangeStreamConsumer, ConsumedRecord, ShardLag } from '../../stream/change-stream.js';

/**
 * A tiny in-memory change stream for archive tests (not a Postgres double): shards hold records in
 * order; one consumer reads after its in-memory cursor, checkpoints durably (here: in the shared
 * `checkpoints` map, which survives a "crash" = a new consumer over the same stream) and `rewind`
 * forgets what was read but not checkpointed.
 */
export class MemoryChangeStream {
  readonly shards = new Map<string, ConsumedRecord[]>();
  readonly checkpoints = new Map<string, Map<string, string>>();
  private nextSequence = 1;

  append(shardId: string, partitionKey: string, data: Uint8Array | string, arrivalMs: number): ConsumedRecord {
    let shard = this.shards.get(shardId);
    if (!shard) this.shards.set(shardId, (shard = []));
    const record: ConsumedRecord = {
      shardId,
      sequenceNumber: String(this.nextSequence++).padStart(20, '0'),
      partitionKey,
      data: typeof data === 'string' ? Buffer.from(data) : data,
      arrivalMs,
    };
    shard.push(record);
    return record;
  }

  consumer(name: string): MemoryConsumer {
    let checkpoints = this.checkpoints.get(name);
    if (!checkpoints) this.checkpoints.set(name, (checkpoints = new Map()));
    return new MemoryConsumer(name, this.shards, checkpoints);
  }
}

export class MemoryConsumer implements ChangeStreamConsumer {
  private readonly cursors = new Map<string, number>();
  checkpointCalls = 0;

  constructor(
    readonly consumerName: string,
    private readonly shards: Map<string, ConsumedRecord[]>,
    readonly checkpoints: Map<string, string>,
  ) {}

  private start(shardId: string, records: ConsumedRecord[]): number {
    const cursor = this.cursors.get(shardId);
    if (cursor !== undefined) return cursor;
    const done = this.checkpoints.get(shardId);
    return done === undefined ? 0 : records.findIndex((r) => BigInt(r.sequenceNumber) > BigInt(done)) === -1 ? records.length : records.findIndex((r) => BigInt(r.sequenceNumber) > BigInt(done));
  }

  /** As the real adapters: returns [] as soon as `signal` is aborted while it waits. */
  async read(options: { maxRecords: number; waitMs: number; signal?: AbortSignal }): Promise<ConsumedRecord[][]> {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const out: ConsumedRecord[][] = [];
      let budget = options.maxRecords;
      for (const [shardId, records] of this.shards) {
        const from = this.start(shardId, records);
        const slice = records.slice(from, from + budget);
        if (slice.length === 0) continue;
        this.cursors.set(shardId, from + slice.length);
        budget -= slice.length;
        out.push(slice);
        if (budget <= 0) break;
      }
      if (out.length > 0 || Date.now() >= deadline || options.signal?.aborted) return out;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10, Math.max(1, deadline - Date.now()))));
    }
  }

  async checkpoint(shardId: string, sequenceNumber: string): Promise<void> {
    const previous = this.checkpoints.get(shardId);
    if (previous !== undefined && BigInt(previous) > BigInt(sequenceNumber)) throw new Error(`checkpoint went backwards on ${shardId}`);
    this.checkpoints.set(shardId, sequenceNumber);
    this.checkpointCalls++;
  }

  rewind(): void {
    this.cursors.clear();
  }

  async lag(): Promise<ShardLag[]> {
    return [...this.shards].map(([shardId, records]) => ({ shardId, records: records.length - this.start(shardId, records), ageMs: 0 }));
  }

  async close(): Promise<void> {}
}
