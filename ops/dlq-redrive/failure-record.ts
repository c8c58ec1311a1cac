import { z } from 'zod';

/**
 * What Lambda sends to a Kinesis event source mapping's on-failure destination when a batch
 * exhausts its retries or grows too old: metadata only, never the records themselves (they must be
 * re-read from the stream before its retention expires). Shape (AWS Lambda developer guide,
 * "Retain discarded batch records for a Kinesis Data Streams event source"):
 *
 *   { "requestContext": { "requestId", "functionArn", "condition": "RetryAttemptsExhausted", "approximateInvokeCount" },
 *     "responseContext": { "statusCode", "executedVersion", "functionError" },
 *     "version": "1.0", "timestamp": "2019-11-14T00:38:06.021Z",
 *     "KinesisBatchInfo": { "shardId", "startSequenceNumber", "endSequenceNumber",
 *       "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord", "batchSize", "streamArn" } }
 */
const sequenceNumber = z.string().regex(/^\d{1,128}$/, 'must be a Kinesis sequence number (digits)');

const failureRecordSchema = z.object({
  requestContext: z.object({ condition: z.string().optional(), functionArn: z.string().optional(), approximateInvokeCount: z.number().optional() }).passthrough().optional(),
  timestamp: z.string().optional(),
  KinesisBatchInfo: z.object({
    shardId: z.string().min(1),
    startSequenceNumber: sequenceNumber,
    endSequenceNumber: sequenceNumber,
    batchSize: z.number().int().positive(),
    streamArn: z.string().regex(/^arn:[^:]+:kinesis:[^:]*:[^:]*:stream\/.+$/, 'must be a Kinesis stream ARN'),
    approximateArrivalOfFirstRecord: z.string().optional(),
    approximateArrivalOfLastRecord: z.string().optional(),
  }),
});

export interface KinesisFailureRange {
  streamArn: string;
  streamName: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize: number;
  /** Why Lambda gave up, e.g. RetryAttemptsExhausted, RecordAgeExceeded. */
  condition?: string;
  failedAt?: string;
}

export type ParsedFailure = { ok: true; range: KinesisFailureRange } | { ok: false; reason: string };

export function parseFailureRecord(body: string): ParsedFailure {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the message is not JSON' };
  }
  const parsed = failureRecordSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not a Kinesis on-failure record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  const info = parsed.data.KinesisBatchInfo;
  if (BigInt(info.endSequenceNumber) < BigInt(info.startSequenceNumber)) return { ok: false, reason: 'endSequenceNumber is before startSequenceNumber' };
  return {
    ok: true,
    range: {
      streamArn: info.streamArn,
      streamName: info.streamArn.slice(info.streamArn.indexOf(':stream/') + ':stream/'.length),
      shardId: info.shardId,
      startSequenceNumber: info.startSequenceNumber,
      endSequenceNumber: info.endSequenceNumber,
      batchSize: info.batchSize,
      condition: parsed.data.requestContext?.condition,
      failedAt: parsed.data.timestamp,
    },
  };
}
