/**
 * The change stream port (Kinesis in AWS, the embedded durable log locally).
 *
 * Ordering contract: records with the same partition key are delivered to every consumer in the
 * order in which `put` calls for them resolved, and within one `put` call in array order.
 * Durability contract: when `put` resolves, every record in it survives a crash (Kinesis: the
 * PutRecords response acknowledged it; local log: the segment was fsynced). When `put` rejects,
 * any prefix of the records may have been stored (the caller retries: at-least-once).
 */
export interface StreamRecord {
  partitionKey: string;
  data: Uint8Array;
}

export interface ChangeStreamWriter {
  put(records: readonly StreamRecord[]): Promise<void>;
  /**
   * Per shard id, the sequence number the next record would get: where the stream ends, as this
   * writer knows it. Only a stream whose sequence numbers count records has it (the local log;
   * Kinesis numbers records sparsely). A caller that knows no one else appends (sync, once its
   * capture is done) can then count the records behind a checkpoint without finding the end.
   */
  end?(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface ConsumedRecord {
  shardId: string;
  /** Position in the shard; compares as a decimal integer string, like Kinesis sequence numbers. */
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  /** When the stream accepted the record, epoch ms. */
  arrivalMs: number;
}

export interface ShardLag {
  shardId: string;
  /** Records after this consumer's checkpoint. */
  records: number;
  /** Age of the oldest unconsumed record in ms (0 when caught up): Kinesis "iterator age". */
  ageMs: number;
}

/**
 * A named consumer with durable checkpoints (the local stand-in for a Lambda event source mapping
 * or a Firehose source). Each consumer sees every record; consumers are independent.
 */
export interface ChangeStreamConsumer {
  readonly consumerName: string;
  /**
   * Records after this consumer's checkpoint, grouped per shard, each shard's records in order.
   * Waits up to `waitMs` for at least one record; returns [] on timeout, or (adapters that honour
   * it) as soon as `signal` is aborted while it waits.
   */
  read(options: { maxRecords: number; waitMs: number; signal?: AbortSignal }): Promise<ConsumedRecord[][]>;
  /** Durably records that every record of `shardId` up to and including `sequenceNumber` is handled. */
  checkpoint(shardId: string, sequenceNumber: string): Promise<void>;
  /** Forgets records not yet checkpointed so the next read re-delivers them (after a failure). */
  rewind(): void;
  lag(): Promise<ShardLag[]>;
  /**
   * Optional, for a stream that can count without reading the records (the local log): the records
   * after each named consumer's checkpoint, summed over shards. What a drain wait needs of lag(),
   * for several consumers in one call. `end` (a writer's end(), for every shard) is taken as the
   * stream's end instead of finding it.
   */
  recordsBehind?(consumerNames: readonly string[], end?: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  close(): Promise<void>;
}
