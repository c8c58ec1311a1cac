/**
 * Warehouse Parquet codec throughput: encodeWarehouseParquet / decodeWarehouseParquet against the
 * frozen previous implementation (test/support/warehouse-parquet-v1.ts) on the same realistic rows
 * in the same process. Rows: BENCH_EVENTS generateWorkload events (default 200k) through the real
 * transforms (addRowsForEvent + LocalJoinStateStore + BatchRows) in 20k-event batches, i.e. exactly the
 * per-table row sets processEvents encodes. Each round runs old then new (BENCH_ROUNDS, default 3) and
 * reports CPU seconds (process.cpuUsage, the steady measure on a shared machine) and rows per CPU-s;
 * the best round of each counts. Also checks that both encoders give identical bytes and both
 * decoders identical rows.
 * Usage: node --import tsx bench/parquet.ts   (BENCH_EVENTS=200000 BENCH_ROUNDS=3 BENCH_BATCH_EVENTS=20000)
 */
import { isDeepStrictEqual } from 'node:util';
import { decodeWarehouseParquet, encodeWarehouseParquet } from '../parquet/warehouse-parquet.js';
import { realisticTableBatches } from '../test/support/warehouse-batches.js';
import { legacyDecodeWarehouseParquet, legacyEncodeWarehouseParquet } from '../test/support/warehouse-parquet-v1.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH_EVENTS = Number(process.env.BENCH_BATCH_EVENTS ?? 20_000);

const cpuSeconds = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
};

async function timed(run: () => unknown): Promise<number> {
  global.gc?.();
  const start = cpuSeconds();
  await run();
  return cpuSeconds() - start;
}

const batches = await realisticTableBatches(EVENTS, BATCH_EVENTS);
const rowCount = batches.reduce((sum, batch) => sum + batch.rows.length, 0);
const perTable = new Map<string, number>();
for (const { table, rows } of batches) perTable.set(table, (perTable.get(table) ?? 0) + rows.length);
console.log(`${EVENTS.toLocaleString('en')} events → ${batches.length} files, ${rowCount.toLocaleString('en')} rows:`, Object.fromEntries(perTable));

const oldFiles = batches.map(({ table, rows }) => legacyEncodeWarehouseParquet(table, rows));
const newFiles = batches.map(({ table, rows }) => encodeWarehouseParquet(table, rows));
const differing = batches.filter((_, i) => Buffer.compare(oldFiles[i], newFiles[i]) !== 0).length;
let decodeMismatch = 0;
for (let i = 0; i < batches.length; i++) {
  if (!isDeepStrictEqual(await legacyDecodeWarehouseParquet(batches[i].table, oldFiles[i]), await decodeWarehouseParquet(batches[i].table, oldFiles[i]))) decodeMismatch++;
}
console.log(`identical bytes: ${batches.length - differing}/${batches.length} files; identical decoded rows: ${batches.length - decodeMismatch}/${batches.length} files`);

const best = { oldEncode: Infinity, newEncode: Infinity, oldDecode: Infinity, newDecode: Infinity };
for (let round = 1; round <= ROUNDS; round++) {
  const oldEncode = await timed(() => batches.map(({ table, rows }) => legacyEncodeWarehouseParquet(table, rows)));
  const newEncode = await timed(() => batches.map(({ table, rows }) => encodeWarehouseParquet(table, rows)));
  const oldDecode = await timed(async () => {
    for (let i = 0; i < batches.length; i++) await legacyDecodeWarehouseParquet(batches[i].table, oldFiles[i]);
  });
  const newDecode = await timed(async () => {
    for (let i = 0; i < batches.length; i++) await decodeWarehouseParquet(batches[i].table, oldFiles[i]);
  });
  console.log(`round ${round}: encode old ${oldEncode.toFixed(2)} / new ${newEncode.toFixed(2)} CPU-s; decode old ${oldDecode.toFixed(2)} / new ${newDecode.toFixed(2)} CPU-s`);
  best.oldEncode = Math.min(best.oldEncode, oldEncode);
  best.newEncode = Math.min(best.newEncode, newEncode);
  best.oldDecode = Math.min(best.oldDecode, oldDecode);
  best.newDecode = Math.min(best.newDecode, newDecode);
}

const rate = (seconds: number) => `${Math.round(rowCount / seconds).toLocaleString('en')} rows/CPU-s`;
console.log(`encode: old ${best.oldEncode.toFixed(2)} CPU-s (${rate(best.oldEncode)}), new ${best.newEncode.toFixed(2)} CPU-s (${rate(best.newEncode)}): ${(best.oldEncode / best.newEncode).toFixed(1)}x less CPU`);
console.log(`decode: old ${best.oldDecode.toFixed(2)} CPU-s (${rate(best.oldDecode)}), new ${best.newDecode.toFixed(2)} CPU-s (${rate(best.newDecode)}): ${(best.oldDecode / best.newDecode).toFixed(1)}x less CPU`);
if (differing || decodeMismatch) process.exitCode = 1;
