import { PutRecordsCommand, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../platform/logger.js';
import type { ChangeStreamWriter, StreamRecord } from '../change-stream.js';
import { RecordRejectedError, StreamWriteError } from '../stream-errors.js';
import type { KinesisSender } from './create-kinesis-client.js';
import { backoffDelayMs, classifyKinesisError, classifyRecordErrorCode } from './kinesis-errors.js';
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_RECORDS, planPutRecordsCall, settlePutRecordsCall, type PendingRecord } from './put-records-plan.js';

/** Kinesis limits: data + partition key ≤ 1 MiB per record; key 1-256 Unicode characters. */
const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
const KINESIS_MAX_PARTITION_KEY_CHARS = 256;

export interface KinesisWriterOptions {
  streamName: string;
  logger: Logger;
  /** Consecutive failed rounds (5xx, network, failed records other than throttling) before giving up (default 8). */
  maxAttempts?: number;
  /** Consecutive throttled rounds before giving up (default 60, about 5 minutes at the 5 s cap). */
  maxThrottledAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRecordsPerCall?: number;
  maxBytesPerCall?: number;
}

interface Pending extends PendingRecord {
  record: StreamRecord;
}

/**
 * ChangeStreamWriter on Kinesis PutRecords. `put` resolves only when every record was accepted.
 * Ordering invariants (see put-records-plan.ts): a call carries at most one record per partition
 * key, so a failed record is retried before any later record of its key is sent; and `put` calls
 * are serialized, so a later `put` never overtakes an earlier one's retries.
 */
export class KinesisChangeStreamWriter implements ChangeStreamWriter {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly settings: Required<Omit<KinesisWriterOptions, 'logger' | 'streamName'>>;

  constructor(
    private readonly client: KinesisSender,
    private readonly options: KinesisWriterOptions,
  ) {
    this.settings = {
      maxAttempts: options.maxAttempts ?? 8,
      maxThrottledAttempts: options.maxThrottledAttempts ?? 60,
      baseDelayMs: options.baseDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 5_000,
      maxRecordsPerCall: Math.min(options.maxRecordsPerCall ?? PUT_RECORDS_MAX_RECORDS, PUT_RECORDS_MAX_RECORDS),
      maxBytesPerCall: Math.min(options.maxBytesPerCall ?? PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_BYTES),
    };
  }

  put(records: readonly StreamRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new StreamWriteError('the Kinesis writer is closed', undefined, { retryable: false }));
    let pending: Pending[];
    try {
      pending = records.map(toPending);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.queue.then(() => this.send(pending));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async send(initial: Pending[]): Promise<void> {
    const { logger, streamName } = this.options;
    let pending = initial;
    let failedRounds = 0;
    let throttledRounds = 0;
    while (pending.length > 0) {
      const positions = planPutRecordsCall(pending, { maxRecords: this.settings.maxRecordsPerCall, maxBytes: this.settings.maxBytesPerCall });
      const sent = positions.map((p) => pending[p]);
      let results: PutRecordsResultEntry[];
      try {
        const output = await this.client.send(
          new PutRecordsCommand({ StreamName: streamName, Records: sent.map((p) => ({ PartitionKey: p.partitionKey, Data: p.record.data })) }),
        );
        results = output.Records ?? [];
        if (results.length !== sent.length) throw Object.assign(new Error(`PutRecords returned ${results.length} results for ${sent.length} records`), { name: 'InternalFailure' });
      } catch (error) {
        const kind = classifyKinesisError(error);
        if (kind === 'permanent') {
          throw new StreamWriteError(`PutRecords to ${streamName} failed: ${(error as Error).message}`, undefined, { retryable: false, cause: error });
        }
        const rounds = kind === 'throttled' ? ++throttledRounds : ++failedRounds;
        this.giveUpAfter(rounds, kind, error, pending.length);
        logger.warn('PutRecords failed, retrying', { streamName, kind, attempt: rounds, records: sent.length, error });
        await sleep(backoffDelayMs(rounds, this.settings.baseDelayMs, this.settings.maxDelayMs));
        continue;
      }
      const accepted = results.map((r) => !r.ErrorCode);
      const failures = results.filter((r) => r.ErrorCode);
      pending = settlePutRecordsCall(pending, positions, accepted);
      if (failures.length === 0) {
        failedRounds = throttledRounds = 0;
        continue;
      }
      const onlyThrottled = failures.every((r) => classifyRecordErrorCode(r.ErrorCode!) === 'throttled');
      const progressed = failures.length < sent.length;
      // Rounds that made progress do not count towards giving up; a record that keeps failing
      // while nothing else is left does.
      if (progressed) failedRounds = throttledRounds = 0;
      const rounds = progressed ? 1 : onlyThrottled ? ++throttledRounds : ++failedRounds;
      if (!progressed) this.giveUpAfter(rounds, onlyThrottled ? 'throttled' : 'transient', failures[0], pending.length);
      logger.warn('PutRecords partially failed, retrying the failed records', {
        streamName,
        failed: failures.length,
        sent: sent.length,
        errorCode: failures[0].ErrorCode,
        errorMessage: failures[0].ErrorMessage,
      });
      await sleep(backoffDelayMs(rounds, this.settings.baseDelayMs, this.settings.maxDelayMs));
    }
  }

  private giveUpAfter(rounds: number, kind: 'throttled' | 'transient', cause: unknown, pendingRecords: number): void {
    const limit = kind === 'throttled' ? this.settings.maxThrottledAttempts : this.settings.maxAttempts;
    if (rounds < limit) return;
    const detail = (cause as Error)?.message ?? (cause as PutRecordsResultEntry)?.ErrorMessage ?? String(cause);
    throw new StreamWriteError(`PutRecords to ${this.options.streamName} still failing (${kind}) after ${rounds} attempts, ${pendingRecords} records not accepted: ${detail}`, undefined, {
      retryable: true,
      cause,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }
}

function toPending(record: StreamRecord): Pending {
  const key = record.partitionKey;
  if (typeof key !== 'string' || key.length < 1 || [...key].length > KINESIS_MAX_PARTITION_KEY_CHARS) {
    throw new RecordRejectedError(`partition key must be 1-${KINESIS_MAX_PARTITION_KEY_CHARS} characters: ${JSON.stringify(String(key).slice(0, 300))}`, String(key));
  }
  const bytes = Buffer.byteLength(key, 'utf8') + record.data.length;
  if (bytes > KINESIS_MAX_RECORD_BYTES) {
    throw new RecordRejectedError(`record of partition key ${key} is ${bytes} bytes, more than the ${KINESIS_MAX_RECORD_BYTES} bytes a Kinesis record may hold`, key);
  }
  return { partitionKey: key, bytes, record };
}
