/**
 * One processor Lambda "container" for bench/freshness-aws.ts: the real Kinesis handler in a process
 * of its own (in AWS each concurrent invocation has its own CPU), driven over IPC by the event
 * source mapping stand-in: {id, event} in, {id, response | error} out. Env: the Lambda's own
 * (TOTESYS_BUCKETS, TOTESYS_PROCESSED_BUCKET, TOTESYS_S3_ENDPOINT, TOTESYS_STATE_STORE, ...).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { createKinesisHandler } from '../stream-processors/lambda/kinesis-handler.js';
import { buildLambdaDeps } from '../stream-processors/lambda/lambda-deps.js';
import { embeddedMetricFormat } from '../stream-processors/processor-metrics.js';

const handler = createKinesisHandler(async () => ({ ...(await buildLambdaDeps(process.env)), metrics: embeddedMetricFormat('stream-processor', () => undefined) }));
process.on('message', (message: { id: number; event: KinesisStreamEvent; awsRequestId: string }) => {
  handler(message.event, { awsRequestId: message.awsRequestId }).then(
    (response) => process.send!({ id: message.id, response }),
    (error: unknown) => process.send!({ id: message.id, error: String((error as Error)?.message ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
