import { randomUUID } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type GetRecordsCommandOutput, type _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { KinesisSender } from '../../stream/kinesis/create-kinesis-client.js';

/**
 * What the Lambda Kinesis event source mapping does, against a real (emulated) stream: per shard,
 * GetRecords pages of at most `batchSize` records become one invocation each, shards in parallel
 * (parallelization factor 1: one batch per shard at a time, so per-shard order holds). With
 * ReportBatchItemFailures, the lowest reported sequence number and everything after it in the shard
 * are redelivered; a thrown error redelivers the whole batch. Each shard gets its own handler
 * (its own "container"), as concurrent invocations do in Lambda.
 */
export type LambdaKinesisHandler = (event: KinesisStreamEvent, context: { awsRequestId: string }) => Promise<KinesisStreamBatchResponse | void>;

export interface EventSourceMappingOptions {
  client: KinesisSender;
  streamName: string;
  streamArn: string;
  region: string;
  batchSize: number;
  /** Redeliveries of one failing batch before drain() gives up (the real mapping would go to its DLQ). */
  maxRetries?: number;
}

export interface Invocation {
  shardId: string;
  records: number;
  firstSequenceNumber: string;
  lastSequenceNumber: string;
  batchItemFailures: string[];
  error?: unknown;
}

export function kinesisStreamRecord(record: _Record, shardId: string, streamArn: string, region: string): KinesisStreamRecord {
  const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
  return {
    awsRegion: region,
    eventID: `${shardId}:${record.SequenceNumber!}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: streamArn,
    eventVersion: '1.0',
    invokeIdentityArn: `arn:aws:iam::${streamArn.split(':')[4] || '000000000000'}:role/totesys-cdc-processor`,
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey!,
      sequenceNumber: record.SequenceNumber!,
      data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
      // Lambda reports the arrival time in seconds with a fraction.
      approximateArrivalTimestamp: arrivalMs / 1000,
    },
  };
}

/** The stream's shard ids (the mapping reads each shard on its own). */
export async function shardIds(client: KinesisSender, streamName: string): Promise<string[]> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  return (Shards ?? []).map((shard) => shard.ShardId!);
}

/** A shard iterator just after `after` (a checkpoint), or at the shard's oldest record without one. */
export async function shardIteratorAfter(client: KinesisSender, streamName: string, shardId: string, after: string | undefined): Promise<string> {
  const { ShardIterator } = await client.send(
    new GetShardIteratorCommand({
      StreamName: streamName,
      ShardId: shardId,
      ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
    }),
  );
  return ShardIterator!;
}

export class KinesisEventSourceMapping {
  /** Last sequence number per shard whose batch succeeded: where the next drain resumes. */
  private readonly checkpoints = new Map<string, string>();
  readonly invocations: Invocation[] = [];

  constructor(private readonly options: EventSourceMappingOptions) {}

  /** Delivers every record in the stream past the checkpoints; resolves when each shard is caught up. */
  async drain(handlerFor: (shardId: string) => LambdaKinesisHandler): Promise<Invocation[]> {
    const before = this.invocations.length;
    await Promise.all((await shardIds(this.options.client, this.options.streamName)).map((shardId) => this.drainShard(shardId, handlerFor(shardId))));
    return this.invocations.slice(before);
  }

  private async drainShard(shardId: string, handler: LambdaKinesisHandler): Promise<void> {
    const { client, batchSize, streamArn, region } = this.options;
    const maxRetries = this.options.maxRetries ?? 3;
    let iterator: string | undefined = await shardIteratorAfter(client, this.options.streamName, shardId, this.checkpoints.get(shardId));
    let retries = 0;
    for (let page = 0; iterator && page < 100_000; page++) {
      const output: GetRecordsCommandOutput = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));
      const records = output.Records ?? [];
      if (records.length === 0) return; // caught up
      const event: KinesisStreamEvent = { Records: records.map((r) => kinesisStreamRecord(r, shardId, streamArn, region)) };
      const invocation: Invocation = { shardId, records: records.length, firstSequenceNumber: records[0].SequenceNumber!, lastSequenceNumber: records.at(-1)!.SequenceNumber!, batchItemFailures: [] };
      this.invocations.push(invocation);
      let failedFrom: string | undefined;
      try {
        const response = await handler(event, { awsRequestId: randomUUID() });
        invocation.batchItemFailures = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
        failedFrom = invocation.batchItemFailures.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0];
      } catch (error) {
        invocation.error = error;
        failedFrom = records[0].SequenceNumber!;
      }
      if (failedFrom === undefined) {
        this.checkpoints.set(shardId, records.at(-1)!.SequenceNumber!);
        iterator = output.NextShardIterator;
        retries = 0;
        continue;
      }
      if (++retries > maxRetries) throw new Error(`shard ${shardId}: batch starting at ${records[0].SequenceNumber} still failing after ${maxRetries} redeliveries`, { cause: invocation.error });
      // Keep what succeeded before the failed record, redeliver from it.
      const index = records.findIndex((r) => r.SequenceNumber === failedFrom);
      if (index > 0) this.checkpoints.set(shardId, records[index - 1].SequenceNumber!);
      iterator = await shardIteratorAfter(client, this.options.streamName, shardId, this.checkpoints.get(shardId));
    }
  }
}
