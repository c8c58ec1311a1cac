import { randomUUID } from 'node:crypto';
import { GetRecordsCommand, type _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { KinesisSender } from '../../stream/kinesis/create-kinesis-client.js';
import { kinesisStreamRecord, shardIds, shardIteratorAfter, type LambdaKinesisHandler } from './kinesis-event-source-mapping.js';

/**
 * A running Lambda Kinesis event source mapping (the continuous counterpart of
 * KinesisEventSourceMapping.drain), with the documented polling and batching semantics:
 *  - each shard is polled with GetRecords at a base rate of once per second, at once again after a
 *    full page or an invocation (catching up);
 *  - records are gathered until a full batch (batchSize), or until maximumBatchingWindowMs after the
 *    first record of the batch was read (0: invoke with what the poll returned);
 *  - one batch per shard at a time (ParallelizationFactor 1): the next poll of a shard waits for its
 *    invocation to finish; shards are independent;
 *  - ReportBatchItemFailures: the batch is retried from the lowest failed sequence number; a thrown
 *    error retries the whole batch (after a second, as Lambda backs off).
 */
export interface PollingMappingOptions {
  client: KinesisSender;
  streamName: string;
  streamArn: string;
  region: string;
  batchSize: number;
  maximumBatchingWindowMs: number;
  /** Base polling interval per shard (Lambda: 1 s). */
  pollIntervalMs?: number;
}

export interface PolledInvocation {
  shardId: string;
  records: number;
  startedAt: number;
  durationMs: number;
  failed: boolean;
}

export class PollingEventSourceMapping {
  readonly invocations: PolledInvocation[] = [];
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: PollingMappingOptions) {}

  async start(handlerFor: (shardId: string) => LambdaKinesisHandler): Promise<void> {
    this.loops = (await shardIds(this.o.client, this.o.streamName)).map((shardId) => this.pollShard(shardId, handlerFor(shardId)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async pollShard(shardId: string, handler: LambdaKinesisHandler): Promise<void> {
    const pollMs = this.o.pollIntervalMs ?? 1_000;
    let checkpoint: string | undefined;
    let iterator = await shardIteratorAfter(this.o.client, this.o.streamName, shardId, undefined);
    let batch: _Record[] = [];
    let firstReadAt = 0;
    while (!this.stopping) {
      const polledAt = Date.now();
      const output = await this.o.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.o.batchSize - batch.length }));
      iterator = output.NextShardIterator!;
      const records = output.Records ?? [];
      if (records.length > 0 && batch.length === 0) firstReadAt = Date.now();
      batch.push(...records);
      const windowLeft = firstReadAt + this.o.maximumBatchingWindowMs - Date.now();
      if (batch.length > 0 && (batch.length >= this.o.batchSize || windowLeft <= 0)) {
        const event: KinesisStreamEvent = { Records: batch.map((r) => kinesisStreamRecord(r, shardId, this.o.streamArn, this.o.region)) };
        const startedAt = Date.now();
        let failedFrom: string | undefined;
        try {
          const response = await handler(event, { awsRequestId: randomUUID() });
          failedFrom = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0];
        } catch {
          failedFrom = batch[0].SequenceNumber!;
        }
        this.invocations.push({ shardId, records: batch.length, startedAt, durationMs: Date.now() - startedAt, failed: failedFrom !== undefined });
        if (failedFrom === undefined) checkpoint = batch.at(-1)!.SequenceNumber!;
        else {
          const index = batch.findIndex((r) => r.SequenceNumber === failedFrom);
          if (index > 0) checkpoint = batch[index - 1].SequenceNumber!;
          iterator = await shardIteratorAfter(this.o.client, this.o.streamName, shardId, checkpoint);
          await new Promise((r) => setTimeout(r, 1_000));
        }
        batch = [];
        continue; // poll again at once after an invocation
      }
      if (records.length > 0 && records.length >= this.o.batchSize) continue; // a full page: catching up
      // Base rate once per second; inside a batching window, no later than the window's end.
      const wait = batch.length > 0 ? Math.min(pollMs, Math.max(0, windowLeft)) : pollMs;
      await new Promise((r) => setTimeout(r, Math.max(0, polledAt + wait - Date.now())));
    }
  }
}
