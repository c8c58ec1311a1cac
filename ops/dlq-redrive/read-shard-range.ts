import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { PipelineError } from '../../platform/errors.js';
import type { StreamRecordInput } from '../../stream-processors/decode-records.js';
import type { KinesisSender } from '../../stream/kinesis/create-kinesis-client.js';
import type { KinesisFailureRange } from './failure-record.js';

/**
 * Re-reads exactly the records of a failed range from the stream: AT_SEQUENCE_NUMBER start, then
 * GetRecords until the end sequence number. The range must come back whole: a first record other
 * than the start means the stream's retention already dropped it (the archive still has it: use
 * `replay`), and running out of records before the end means the range is not (or no longer)
 * there. Either way nothing is processed and the message stays in the queue.
 */
export class RangeUnavailableError extends PipelineError {
  constructor(readonly range: KinesisFailureRange, reason: string) {
    super(`${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber}: ${reason}`, { retryable: false });
  }
}

export interface ReadRangeOptions {
  /** Empty GetRecords answers tolerated before giving up (a shard's tip is reached). */
  maxEmptyReads?: number;
  /** Records per GetRecords call (Kinesis allows up to 10,000). */
  limit?: number;
}

export async function readShardRange(kinesis: KinesisSender, range: KinesisFailureRange, options: ReadRangeOptions = {}): Promise<StreamRecordInput[]> {
  const start = BigInt(range.startSequenceNumber);
  const end = BigInt(range.endSequenceNumber);
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({ StreamName: range.streamName, ShardId: range.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: range.startSequenceNumber }),
  );
  const records: StreamRecordInput[] = [];
  let iterator = ShardIterator;
  let emptyReads = 0;
  // Bounded: a Lambda batch is at most 10,000 records (and 6 MB), so is its range.
  while (iterator) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.limit ?? 1000 }));
    for (const record of out.Records ?? []) {
      const sequence = BigInt(record.SequenceNumber!);
      if (records.length === 0 && sequence !== start) throw new RangeUnavailableError(range, `the stream no longer holds the start of the range (first record ${record.SequenceNumber}): its retention has passed; rebuild from the archive with replay`);
      if (sequence > end) return records;
      records.push({
        shardId: range.shardId,
        sequenceNumber: record.SequenceNumber!,
        data: record.Data ?? new Uint8Array(),
        arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
      });
      if (sequence === end) return records;
      if (records.length > 10_000) throw new RangeUnavailableError(range, 'more than 10,000 records before the end sequence number: not a Lambda batch range');
    }
    if (!out.Records?.length) {
      if (out.MillisBehindLatest === 0 || ++emptyReads >= (options.maxEmptyReads ?? 5)) break;
    } else emptyReads = 0;
    iterator = out.NextShardIterator;
  }
  throw new RangeUnavailableError(range, `the shard ended after ${records.length} record(s) without reaching the end sequence number`);
}
