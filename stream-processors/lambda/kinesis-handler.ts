import type { Context, KinesisStreamBatchItemFailure, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { errorMessage, isRetryable } from '../../platform/errors.js';
import type { StreamRecordInput } from '../decode-records.js';
import { processRecords } from '../process-records.js';
import type { KinesisHandlerDeps } from './kinesis-handler-deps.js';

export type { KinesisHandlerDeps };

export type KinesisHandler = (event: KinesisStreamEvent, context?: Pick<Context, 'awsRequestId'>) => Promise<KinesisStreamBatchResponse>;

/** `shardId-000000000001:4959…` → `shardId-000000000001`. */
export function shardIdOf(record: KinesisStreamRecord): string {
  const colon = record.eventID.lastIndexOf(':');
  return colon > 0 ? record.eventID.slice(0, colon) : 'unknown-shard';
}

function toStreamRecordInput(record: KinesisStreamRecord): StreamRecordInput {
  return {
    shardId: shardIdOf(record),
    sequenceNumber: record.kinesis.sequenceNumber,
    data: Buffer.from(record.kinesis.data, 'base64'),
    // Kinesis reports seconds with a fraction.
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
  };
}

/**
 * The Kinesis event-source Lambda (ReportBatchItemFailures on). Records are grouped per shard, each
 * shard's records processed in order as one batch (one manifest). Poison records are quarantined and
 * never block a shard. When a shard's batch fails (bucket or state store unavailable), its FIRST
 * sequence number is reported, so Lambda retries that record and every later one of the shard; other
 * shards' successes stand. The handler throws only when every shard failed, so the whole invocation
 * is retried (and eventually sent to the on-failure destination). Re-processing is idempotent.
 */
export function createKinesisHandler(deps: KinesisHandlerDeps | (() => Promise<KinesisHandlerDeps>)): KinesisHandler {
  // Built once per container (the first invocation); a failed build is retried by the next one.
  let built: Promise<KinesisHandlerDeps> | undefined;
  const resolveDeps = () =>
    (built ??= (typeof deps === 'function' ? deps() : Promise.resolve(deps)).catch((error: unknown) => {
      built = undefined;
      throw error;
    }));
  return async (event, context) => {
    const { state, processed, logger: baseLogger, metrics, prefix } = await resolveDeps();
    const logger = context?.awsRequestId ? baseLogger.child({ awsRequestId: context.awsRequestId }) : baseLogger;
    const byShard = new Map<string, StreamRecordInput[]>();
    for (const record of event.Records ?? []) {
      const input = toStreamRecordInput(record);
      let group = byShard.get(input.shardId);
      if (!group) byShard.set(input.shardId, (group = []));
      group.push(input);
    }
    if (byShard.size === 0) return { batchItemFailures: [] };

    const shards = [...byShard];
    const outcomes = await Promise.allSettled(shards.map(([, records]) => processRecords(records, { state, processed, logger, metrics, prefix })));
    const batchItemFailures: KinesisStreamBatchItemFailure[] = [];
    const errors: unknown[] = [];
    outcomes.forEach((outcome, i) => {
      const [shardId, records] = shards[i];
      if (outcome.status === 'fulfilled') {
        logger.info('shard batch processed', { shardId, records: records.length, events: outcome.value.events, quarantined: outcome.value.quarantined, batchId: outcome.value.manifest?.batchId });
        return;
      }
      errors.push(outcome.reason);
      batchItemFailures.push({ itemIdentifier: records[0].sequenceNumber });
      logger.error('shard batch failed; reporting it for retry', { shardId, sequenceNumber: records[0].sequenceNumber, retryable: isRetryable(outcome.reason), error: errorMessage(outcome.reason) });
    });
    if (errors.length === shards.length) throw errors[0];
    return { batchItemFailures };
  };
}

/**
 * The Lambda entry point: dependencies are built from the environment once per container, on the
 * first invocation (see lambda-deps.ts), and reused while the container lives.
 */
export const handler: KinesisHandler = createKinesisHandler(async () => (await import('./lambda-deps.js')).buildLambdaDeps());
