/**
 * AWS emulators of bench/freshness-aws.ts in a process of their own, so they do not share the
 * pipeline's event loop: in AWS these services are not on the Lambdas' CPU either. EMU_SERVICES
 * picks them: `streams` (kinesalite and dynalite) or `s3` (s3rver). The bench starts one process
 * of each: s3rver lists a prefix by stat'ing every object under it, synchronously, so a loader's
 * LIST over a day of manifests would otherwise stall Kinesis and DynamoDB calls behind it.
 * Prints one JSON line with the endpoints, stops on SIGTERM.
 * Env: EMU_SERVICES, EMU_STREAM, EMU_SHARDS, EMU_BUCKET, EMU_TABLE, EMU_REGION.
 */
import { STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../stream-processors/state/dynamodb-join-state-store.js';
import { startKinesalite, startS3rver } from '../test/support/aws-emulators.js';
import { startDynalite } from '../test/support/dynalite-server.js';

const env = process.env;
const stoppers: (() => Promise<void>)[] = [];
let endpoints: Record<string, string>;
if (env.EMU_SERVICES === 's3') {
  const s3 = await startS3rver([env.EMU_BUCKET!]);
  stoppers.push(() => s3.stop());
  endpoints = { s3Endpoint: s3.endpoint };
} else {
  const [kinesis, dynamo] = await Promise.all([startKinesalite(env.EMU_REGION), startDynalite()]);
  stoppers.push(() => kinesis.stop(), () => dynamo.stop());
  const streamArn = await kinesis.createStream(env.EMU_STREAM!, Number(env.EMU_SHARDS));
  await dynamo.createTable(env.EMU_TABLE!, STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
  endpoints = { kinesisEndpoint: kinesis.endpoint, streamArn, dynamoEndpoint: dynamo.endpoint };
}
process.stdout.write(JSON.stringify(endpoints) + '\n');
const stop = async () => {
  await Promise.all(stoppers.map((s) => s()));
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
// The parent's death ends us too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop();
}, 1_000);
