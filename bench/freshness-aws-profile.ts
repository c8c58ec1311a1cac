/**
 * Where one processor Lambda invocation of the freshness bench spends its time: the real Kinesis
 * handler with the bench's payload (sales_order updates, one event per record), against s3rver and
 * dynalite, with timing spans around decode + transform + Parquet encode (CPU) and each S3 PUT.
 *   npx tsx bench/freshness-aws-profile.ts [records per invocation, default 250] [invocations, default 40]
 */
import { createKinesisHandler } from '../stream-processors/lambda/kinesis-handler.js';
import { buildLambdaDeps } from '../stream-processors/lambda/lambda-deps.js';
import { STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../stream-processors/state/dynamodb-join-state-store.js';
import { startS3rver } from '../test/support/aws-emulators.js';
import { startDynalite } from '../test/support/dynalite-server.js';
import { changeEvent, sourceRow } from '../test/support/change-event-factory.js';
import { kinesisEvent, kinesisRecord } from '../test/support/kinesis-event-factory.js';
import type { ObjectStore } from '../bucket/object-store.js';

const PER = Number(process.argv[2] ?? 250);
const N = Number(process.argv[3] ?? 40);
const s3 = await startS3rver(['processed']);
const dynamo = await startDynalite();
await dynamo.createTable('state', STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
const deps = await buildLambdaDeps({ TOTESYS_BUCKETS: 's3', TOTESYS_PROCESSED_BUCKET: 'processed', TOTESYS_S3_ENDPOINT: s3.endpoint, TOTESYS_STATE_STORE: 'dynamodb', TOTESYS_DYNAMODB_TABLE: 'state', TOTESYS_DYNAMODB_ENDPOINT: dynamo.endpoint, AWS_REGION: 'eu-west-2', TOTESYS_LOG_LEVEL: 'warn' });
const puts: number[] = [];
const store: ObjectStore = Object.create(deps.processed);
store.put = async (key, body) => {
  const t = performance.now();
  await deps.processed.put(key, body);
  puts.push(performance.now() - t);
};
const handler = createKinesisHandler({ ...deps, processed: store, metrics: { count: () => undefined } as never });
let lsn = 0x2000000n;
const makeEvent = () =>
  kinesisEvent(Array.from({ length: PER }, (_, i) => kinesisRecord(0, changeEvent('sales_order', 'u', sourceRow.sales_order({ sales_order_id: 1 + ((Number(lsn) + i) % 5000), units_sold: i }), { lsn: (lsn += 0x100n), commitTs: new Date().toISOString() }))));
const totals: number[] = [];
for (let i = 0; i < N + 5; i++) {
  const event = makeEvent();
  const t = performance.now();
  await handler(event);
  if (i >= 5) totals.push(performance.now() - t);
}
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
console.log(JSON.stringify({ recordsPerInvocation: PER, invocations: N, meanMs: mean(totals).toFixed(1), p50Ms: pct(totals, 0.5).toFixed(1), p90Ms: pct(totals, 0.9).toFixed(1), putMeanMs: mean(puts.slice(10)).toFixed(1), putsPerInvocation: puts.length / (N + 5) }));
await deps.state.close();
await s3.stop();
await dynamo.stop();
