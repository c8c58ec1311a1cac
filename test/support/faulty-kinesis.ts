import { ProvisionedThroughputExceededException, PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { KinesisSender } from '../../stream/kinesis/create-kinesis-client.js';

export interface KinesisFaults {
  /** Throw ProvisionedThroughputExceededException for this many PutRecords calls (before sending). */
  throttleCalls?: number;
  /**
   * Fail this record of this call (1-based call number, index in the call): it is NOT forwarded to
   * the real stream and comes back with ErrorCode ProvisionedThroughputExceededException.
   */
  failRecord?: (call: number, entry: PutRecordsRequestEntry, index: number) => boolean;
}

export interface FaultyKinesis extends KinesisSender {
  /** Every PutRecords call as seen by the wrapper (including throttled ones): its entries. */
  readonly putRecordsCalls: PutRecordsRequestEntry[][];
}

/** Wraps a real client's `send`, injecting PutRecords throttling and per-record failures. */
export function faultyKinesis(client: KinesisClient, faults: KinesisFaults): FaultyKinesis {
  const calls: PutRecordsRequestEntry[][] = [];
  let throttlesLeft = faults.throttleCalls ?? 0;
  const send = async (command: unknown, ...rest: unknown[]): Promise<unknown> => {
    if (!(command instanceof PutRecordsCommand)) return (client.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
    const entries = command.input.Records ?? [];
    calls.push(entries);
    const call = calls.length;
    if (throttlesLeft > 0) {
      throttlesLeft--;
      throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard (injected)', $metadata: { httpStatusCode: 400 } });
    }
    const failed = entries.map((entry, index) => faults.failRecord?.(call, entry, index) ?? false);
    const forwarded = entries.filter((_, index) => !failed[index]);
    const real = forwarded.length > 0 ? await client.send(new PutRecordsCommand({ ...command.input, Records: forwarded })) : { Records: [] as PutRecordsResultEntry[], $metadata: {} };
    const realResults = [...(real.Records ?? [])];
    const results: PutRecordsResultEntry[] = failed.map((f) =>
      f ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected)' } : realResults.shift()!,
    );
    return { ...real, FailedRecordCount: results.filter((r) => r.ErrorCode).length, Records: results };
  };
  return { send: send as KinesisClient['send'], putRecordsCalls: calls };
}
