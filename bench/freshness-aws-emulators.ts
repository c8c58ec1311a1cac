/**
 * The AWS emulators of bench/freshness-aws.ts in a process of their own (kinesalite, s3rver,
 * dynalite), so they do not share the pipeline's event loop: in AWS these services are not on the
 * Lambdas' CPU either. Prints one JSON line with the endpoints, stops on SIGTERM.
 * Env: EMU_STREAM, EMU_SHARDS, EMU_BUCKET, EMU_TABLE, EMU_REGION.
 */
import { STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../stream-processors/state/dynamodb-join-state-store.js';
import { startKinesalite, startS3rver } from '../test/support/aws-emulators.js';
import { startDynalite } from '../test/support/dynalite-server.js';

const env = process.env;
const [kinesis, s3, dynamo] = await Promise.all([startKinesalite(env.EMU_REGION), startS3rver([env.EMU_BUCKET!]), startDynalite()]);
const streamArn = await kinesis.createStream(env.EMU_STREAM!, Number(env.EMU_SHARDS));
await dynamo.createTable(env.EMU_TABLE!, STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
process.stdout.write(JSON.stringify({ kinesisEndpoint: kinesis.endpoint, streamArn, s3Endpoint: s3.endpoint, dynamoEndpoint: dynamo.endpoint }) + '\n');
const stop = async () => {
  await Promise.all([kinesis.stop(), s3.stop(), dynamo.stop()]);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
// The parent's death ends us too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop();
}, 1_000);
