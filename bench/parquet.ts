/**
 * Warehouse Parquet codec throughput: encodeWarehouseParquet / decodeWarehouseParquet against the
 * generic libraries they replaced, on the same realistic rows in the same process: hyparquet-writer's
 * parquetWrite (given the columns already converted to Parquet's physical values, so the baseline
 * leaves out value checking and conversion, which ours includes) and hyparquet's parquetReadObjects.
 * Rows: BENCH_EVENTS generateWorkload events (default 200k) through the real transforms
 * (rowsForEvent + LocalJoinStateStore + BatchRows) in 20k-event batches, i.e. exactly the per-table
 * row sets processEvents encodes. Each round runs the library then ours (BENCH_ROUNDS, default 3) and
 * reports CPU seconds (process.cpuUsage, the steady measure on a shared machine) and rows per CPU-s;
 * the best round of each counts. Also checks that both writers give identical bytes (ours reproduces
 * parquetWrite's output; test/unit/warehouse-parquet-bytes.test.ts pins it against the v1 files).
 * Usage: node --import tsx bench/parquet.ts   (BENCH_EVENTS=200000 BENCH_ROUNDS=3 BENCH_BATCH_EVENTS=20000)
 */
import { parquetMetadata, parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { WAREHOUSE_MODEL, type WarehouseTable } from '../contracts/warehouse-model.js';
import { decodeWarehouseParquet, encodeWarehouseParquet } from '../parquet/warehouse-parquet.js';
import { realisticTableBatches } from '../test/support/warehouse-batches.js';

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

const arrayBuffer = (bytes: Uint8Array) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
const asyncBuffer = (buffer: ArrayBuffer): AsyncBuffer => ({ byteLength: buffer.byteLength, slice: (start, end) => buffer.slice(start, end) });
/** Dates as days and instants as milliseconds: the physical values, as parquetWrite takes them. */
const RAW = { dateFromDays: (days: number) => days, timestampFromMilliseconds: (ms: bigint) => ms };

/** The library's input for one file: its schema, and its columns in physical values (read back from our file, untimed). */
async function libraryInput(table: WarehouseTable, file: Uint8Array) {
  const buffer = arrayBuffer(file);
  const schema = parquetMetadata(buffer).schema;
  const objects = (await parquetReadObjects({ file: asyncBuffer(buffer), parsers: RAW })) as Record<string, unknown>[];
  const columnData = WAREHOUSE_MODEL[table].columns.map((column) => ({
    name: column.name,
    nullable: column.nullable,
    // hyparquet scales DECIMAL to a double; the writer takes the unscaled INT64.
    data: objects.map((o) => (column.type === 'money' && o[column.name] !== null ? BigInt(Math.round((o[column.name] as number) * 100)) : o[column.name])),
  }));
  return { schema, columnData, kvMetadata: [{ key: 'totesys_cdc.table', value: table }] };
}

function libraryEncode(input: Awaited<ReturnType<typeof libraryInput>>): Uint8Array {
  const writer = new ByteWriter();
  // Synchronous with the default (synchronous) compressors; its type also allows a Promise.
  void parquetWrite({ writer, ...input, rowGroupSize: 100_000 });
  return new Uint8Array(writer.getBuffer());
}

const files = batches.map(({ table, rows }) => encodeWarehouseParquet(table, rows));
const inputs = await Promise.all(batches.map(({ table }, i) => libraryInput(table, files[i])));
const differing = inputs.filter((input, i) => Buffer.compare(libraryEncode(input), files[i]) !== 0).length;
console.log(`identical bytes from parquetWrite and ours: ${batches.length - differing}/${batches.length} files`);

const best = { libraryEncode: Infinity, oursEncode: Infinity, libraryDecode: Infinity, oursDecode: Infinity };
for (let round = 1; round <= ROUNDS; round++) {
  const libraryEncodeCpu = await timed(() => inputs.map(libraryEncode));
  const oursEncode = await timed(() => batches.map(({ table, rows }) => encodeWarehouseParquet(table, rows)));
  const libraryDecode = await timed(async () => {
    for (const file of files) await parquetReadObjects({ file: asyncBuffer(arrayBuffer(file)) });
  });
  const oursDecode = await timed(async () => {
    for (let i = 0; i < batches.length; i++) await decodeWarehouseParquet(batches[i].table, files[i]);
  });
  console.log(`round ${round}: encode library ${libraryEncodeCpu.toFixed(2)} / ours ${oursEncode.toFixed(2)} CPU-s; decode library ${libraryDecode.toFixed(2)} / ours ${oursDecode.toFixed(2)} CPU-s`);
  best.libraryEncode = Math.min(best.libraryEncode, libraryEncodeCpu);
  best.oursEncode = Math.min(best.oursEncode, oursEncode);
  best.libraryDecode = Math.min(best.libraryDecode, libraryDecode);
  best.oursDecode = Math.min(best.oursDecode, oursDecode);
}

const rate = (seconds: number) => `${Math.round(rowCount / seconds).toLocaleString('en')} rows/CPU-s`;
console.log(`encode: parquetWrite ${best.libraryEncode.toFixed(2)} CPU-s (${rate(best.libraryEncode)}), ours ${best.oursEncode.toFixed(2)} CPU-s (${rate(best.oursEncode)}): ${(best.libraryEncode / best.oursEncode).toFixed(1)}x less CPU`);
console.log(`decode: parquetReadObjects ${best.libraryDecode.toFixed(2)} CPU-s (${rate(best.libraryDecode)}), ours ${best.oursDecode.toFixed(2)} CPU-s (${rate(best.oursDecode)}): ${(best.libraryDecode / best.oursDecode).toFixed(1)}x less CPU`);
if (differing) process.exitCode = 1;
