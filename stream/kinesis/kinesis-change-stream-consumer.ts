import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type GetRecordsCommandOutput, type Shard } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../platform/logger.js';
import type { ChangeStreamConsumer, ConsumedRecord, ShardLag } from '../change-stream.js';
import { StreamReadError, assertConsumerName } from '../stream-errors.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { KinesisSender } from './create-kinesis-client.js';
import { classifyKinesisError } from './kinesis-errors.js';

export interface KinesisConsumerOptions {
  streamName: string;
  consumerName: string;
  checkpointStore: CheckpointStore;
  logger: Logger;
  /** Pause between empty polls while waiting (Kinesis allows 5 GetRecords per shard per second; default 250). */
  pollIntervalMs?: number;
  /** How often the shard list is refreshed (default 60 s). */
  shardRefreshMs?: number;
  /** Lag counting reads at most this many records per shard (default 100 000): beyond, a lower bound. */
  maxLagScanRecords?: number;
}

/** Read position in one shard: an iterator, and the last sequence number handed out. */
interface ShardState {
  iterator?: string;
  lastRead?: string;
  /** The shard was closed (resharding) and fully read. */
  finished: boolean;
}

/**
 * A polling Kinesis consumer for local runs against a real or emulated stream: ListShards,
 * GetShardIterator (AFTER_SEQUENCE_NUMBER of the checkpoint, else TRIM_HORIZON) and GetRecords.
 * In AWS proper the Lambda event source mapping does this job. Known limit: after resharding, child
 * shards are read as soon as they are listed, not strictly after their parents are finished.
 */
export class KinesisChangeStreamConsumer implements ChangeStreamConsumer {
  readonly consumerName: string;
  private shards: string[] = [];
  private shardsListedAt = 0;
  private readonly states = new Map<string, ShardState>();
  private nextShard = 0;
  private closed = false;

  constructor(
    private readonly client: KinesisSender,
    private readonly options: KinesisConsumerOptions,
  ) {
    assertConsumerName(options.consumerName);
    this.consumerName = options.consumerName;
  }

  async read(options: { maxRecords: number; waitMs: number }): Promise<ConsumedRecord[][]> {
    this.assertOpen();
    const deadline = Date.now() + Math.max(0, options.waitMs);
    for (;;) {
      const batch = await this.readOnce(Math.max(1, options.maxRecords));
      if (batch.length > 0) return batch;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.closed) return [];
      await sleep(Math.min(this.options.pollIntervalMs ?? 250, remaining));
    }
  }

  private async readOnce(maxRecords: number): Promise<ConsumedRecord[][]> {
    const shards = await this.listShards();
    if (shards.length === 0) return [];
    const perShard = Math.min(10_000, Math.ceil(maxRecords / shards.length));
    let remaining = maxRecords;
    const out: ConsumedRecord[][] = [];
    const first = this.nextShard++ % shards.length;
    for (let i = 0; i < shards.length && remaining > 0; i++) {
      const shardId = shards[(first + i) % shards.length];
      const state = this.stateOf(shardId);
      if (state.finished) continue;
      const output = await this.getRecords(shardId, state, Math.min(perShard, remaining));
      if (!output) continue;
      state.iterator = output.NextShardIterator;
      if (!output.NextShardIterator) state.finished = true;
      const records = (output.Records ?? []).map(
        (r): ConsumedRecord => ({
          shardId,
          sequenceNumber: r.SequenceNumber!,
          partitionKey: r.PartitionKey!,
          data: r.Data ?? new Uint8Array(),
          arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
        }),
      );
      if (records.length === 0) continue;
      state.lastRead = records.at(-1)!.sequenceNumber;
      remaining -= records.length;
      out.push(records);
    }
    return out;
  }

  /** GetRecords with the shard's iterator; undefined when throttled (try again next poll). */
  private async getRecords(shardId: string, state: ShardState, limit: number): Promise<GetRecordsCommandOutput | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      state.iterator ??= await this.iteratorAfter(shardId, state.lastRead ?? (await this.options.checkpointStore.load(this.consumerName, shardId)));
      try {
        return await this.client.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: limit }));
      } catch (error) {
        if ((error as Error).name === 'ExpiredIteratorException') {
          state.iterator = undefined;
          continue;
        }
        if (classifyKinesisError(error) !== 'permanent') {
          this.options.logger.warn('GetRecords failed, retrying on the next poll', { shardId, error });
          return undefined;
        }
        throw new StreamReadError(`GetRecords on ${this.options.streamName}/${shardId} failed: ${(error as Error).message}`, shardId, { retryable: false, cause: error });
      }
    }
    return undefined;
  }

  private async iteratorAfter(shardId: string, sequenceNumber: string | undefined): Promise<string> {
    const output = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: shardId,
        ...(sequenceNumber ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: sequenceNumber } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return output.ShardIterator!;
  }

  private async listShards(): Promise<string[]> {
    if (this.shards.length > 0 && Date.now() - this.shardsListedAt < (this.options.shardRefreshMs ?? 60_000)) return this.shards;
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const output = await this.client.send(nextToken ? new ListShardsCommand({ NextToken: nextToken }) : new ListShardsCommand({ StreamName: this.options.streamName }));
      shards.push(...(output.Shards ?? []));
      nextToken = output.NextToken;
    } while (nextToken);
    this.shards = shards.map((s) => s.ShardId!).sort();
    this.shardsListedAt = Date.now();
    return this.shards;
  }

  private stateOf(shardId: string): ShardState {
    let state = this.states.get(shardId);
    if (!state) this.states.set(shardId, (state = { finished: false }));
    return state;
  }

  async checkpoint(shardId: string, sequenceNumber: string): Promise<void> {
    this.assertOpen();
    await this.options.checkpointStore.save(this.consumerName, shardId, sequenceNumber);
    const state = this.stateOf(shardId);
    // A checkpoint ahead of what was read moves reading forward too.
    if (!state.lastRead || BigInt(state.lastRead) < BigInt(sequenceNumber)) {
      state.lastRead = sequenceNumber;
      state.iterator = undefined;
    }
  }

  rewind(): void {
    this.states.clear();
  }

  /** Records after the checkpoint, counted by reading them (a lower bound past maxLagScanRecords). */
  async lag(): Promise<ShardLag[]> {
    this.assertOpen();
    const now = Date.now();
    const out: ShardLag[] = [];
    const cap = this.options.maxLagScanRecords ?? 100_000;
    for (const shardId of await this.listShards()) {
      let iterator: string | undefined = await this.iteratorAfter(shardId, await this.options.checkpointStore.load(this.consumerName, shardId));
      let records = 0;
      let oldestMs: number | undefined;
      for (let calls = 0; iterator && records < cap && calls < 100; calls++) {
        const output: GetRecordsCommandOutput = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        const got = output.Records ?? [];
        if (got.length > 0 && oldestMs === undefined) oldestMs = got[0].ApproximateArrivalTimestamp?.getTime();
        records += got.length;
        iterator = output.NextShardIterator;
        if (got.length === 0 && !output.MillisBehindLatest) break;
      }
      out.push({ shardId, records, ageMs: oldestMs === undefined ? 0 : Math.max(0, now - oldestMs) });
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamReadError(`consumer ${this.consumerName} is closed`, undefined, { retryable: false });
  }
}
