/**
 * AWS emulators of bench/freshness-aws.ts in a process of their own, so they do not share the
 * pipeline's event loop: in AWS these services are not on the Lambdas' CPU either. EMU_SERVICES
 * picks them: `streams` (kinesalite and dynalite) or `s3` (s3rver). The bench starts one process
 * of each: s3rver lists a prefix by stat'ing every object under it, synchronously, so a loader's
 * LIST over a day of manifests would otherwise stall Kinesis and DynamoDB calls behind it.
 * Prints one JSON line with the endpoints, stops on SIGTERM.
 * Env: EMU_SERVICES, EMU_STREAM, EMU_SHARDS, EMU_BUCKET, EMU_TABLE, EMU_REGION.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../stream-processors/state/dynamodb-join-state-store.js';
import { startKinesalite, startS3rver } from '../test/support/aws-emulators.js';
import { startDynalite } from '../test/support/dynalite-server.js';

const env = process.env;

/**
 * s3rver lists a bucket by walking its directory with a statSync per file (each object is three
 * files), synchronously: with a day of manifests under one prefix, every LIST of the draining
 * loader (four a second) blocked this process for ~100 ms, and every processor PUT and loader GET
 * queued behind it (the loader's spans showed 110 ms per GET). The same walk with the directory
 * entries' types (readdir withFileTypes: no stat) lists the same keys. Set before s3rver loads
 * (its filesystem store takes `walk` from utils when it is first required).
 */
/**
 * s3rver answers a truncated ListObjectsV2 page with a NextContinuationToken it encrypts with DES,
 * which OpenSSL 3 no longer offers: every listing longer than one page (1,000 keys: a draining
 * loader's first pass after a few minutes at 1,000 changes/s) failed with a 500 InternalError.
 * S3ObjectStore never sends the token back (it pages with StartAfter), so the token only has to be
 * opaque: "des" becomes the identity here, in this emulator process only.
 */
const identityCipher = () => {
  const chunks: Buffer[] = [];
  return {
    update: (data: string | Buffer, encoding?: BufferEncoding) => (chunks.push(typeof data === 'string' ? Buffer.from(data, encoding) : data), Buffer.alloc(0)),
    final: () => Buffer.concat(chunks),
  };
};
const { createCipheriv, createDecipheriv } = crypto;
Object.assign(crypto, {
  createCipheriv: (algorithm: string, ...rest: unknown[]) => (algorithm === 'des' ? identityCipher() : (createCipheriv as (...a: unknown[]) => unknown)(algorithm, ...rest)),
  createDecipheriv: (algorithm: string, ...rest: unknown[]) => (algorithm === 'des' ? identityCipher() : (createDecipheriv as (...a: unknown[]) => unknown)(algorithm, ...rest)),
});

const s3rverUtils = createRequire(import.meta.url)('s3rver/lib/utils') as { walk: (dir: string, recurseFilter?: (dirPath: string) => boolean) => Generator<string> };
s3rverUtils.walk = function* walk(dir: string, recurseFilter?: (dirPath: string) => boolean): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const filePath = path.posix.join(dir, entry.name);
    if (!entry.isDirectory()) yield filePath;
    else if (!recurseFilter || recurseFilter(filePath)) yield* walk(filePath, recurseFilter);
  }
};
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
