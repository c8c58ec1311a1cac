/**
 * Loader throughput: N fact rows (+ dimensions) as Parquet micro-batch manifests, loaded end to end
 * (bucket read + sha256 + Parquet decode + inferred members + COPY into the fact table, several
 * manifests per transaction + ledger), next to raw COPYs of the same rows straight from memory
 * (text, and the binary format the loader sends), each into an identical freshly migrated table
 * (same PK, UNIQUE and FKs, dimensions present). Goal: loader ≥ 0.9 of the faster raw COPY.
 * A third baseline is the loader's own floor since it checks foreign keys set-based
 * (loader/fact-key-checks.ts): raw binary COPY with session_replication_role = replica, i.e. the
 * same table without the per-row foreign-key triggers.
 * Usage: npm run bench:load  (BENCH_ROWS=200000 BENCH_BATCH_ROWS=10000 to change sizes)
 *
 * Then a backlog of small manifests (BENCH_SMALL_MANIFESTS, default 200, each a staff row and
 * BENCH_SMALL_ROWS fact rows, default 20: what `up` and the draining Lambda find after a pause),
 * loaded one manifest per transaction and then 50 per transaction (set-based, load-manifests-together.ts),
 * each into its own schema, in the same run. BENCH_SMALL_ONLY=1 runs only this part.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createPostgresClient } from '../platform/postgres-client.js';
import { from as copyFrom } from 'pg-copy-streams';
import { LocalDirObjectStore } from '../bucket/local-dir-object-store.js';
import { createLogger } from '../platform/logger.js';
import { WAREHOUSE_MODEL } from '../contracts/warehouse-model.js';
import type { WarehouseRow } from '../contracts/warehouse-row.js';
import { copyTextChunks } from '../loader/copy-text.js';
import { encodeCopyBinary } from '../loader/copy-binary.js';
import { loadPendingManifests } from '../loader/run-loader.js';
import { migrateWarehouseSchema } from '../loader/warehouse-schema.js';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import { counterpartyDim, currencyDim, designDim, locationDim, salesFact, staffDim, writeBatch } from '../test/support/processed-batch-factory.js';

const TOTAL = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH_ROWS ?? 10_000);
const SMALL_MANIFESTS = Number(process.env.BENCH_SMALL_MANIFESTS ?? 200);
const SMALL_ROWS = Number(process.env.BENCH_SMALL_ROWS ?? 20);
const SMALL_ONLY = process.env.BENCH_SMALL_ONLY === '1';
const logger = createLogger({ service: 'bench-load', level: 'warn' });

function factRows(from: number, count: number): WarehouseRow[] {
  const rows: WarehouseRow[] = [];
  for (let i = from; i < from + count; i++) {
    const day = 1 + (i % 28);
    rows.push(
      salesFact(i, BigInt(1000 + i), {
        sales_staff_id: 1 + (i % 20),
        counterparty_id: 1 + (i % 20),
        currency_id: 1 + (i % 3),
        design_id: 1 + (i % 470),
        agreed_delivery_location_id: 1 + (i % 30),
        unit_price: `${(i % 9000) + 1}.${String(i % 100).padStart(2, '0')}`,
        created_date: `2024-02-${String(day).padStart(2, '0')}`,
        agreed_payment_date: `2024-03-${String(day).padStart(2, '0')}`,
        event_id: `${(1000 + i).toString(16)}/0`,
      }),
    );
  }
  return rows;
}

const dims = () => ({
  dim_staff: Array.from({ length: 20 }, (_, i) => staffDim(i + 1, 1n)),
  dim_counterparty: Array.from({ length: 20 }, (_, i) => counterpartyDim(i + 1, 1n)),
  dim_currency: [currencyDim(1, 'GBP', 1n), currencyDim(2, 'USD', 1n), currencyDim(3, 'EUR', 1n)],
  dim_design: Array.from({ length: 470 }, (_, i) => designDim(i + 1, 1n)),
  dim_location: Array.from({ length: 30 }, (_, i) => locationDim(i + 1, 1n)),
});

async function main(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-load-'));
  const server = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), logger, settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
  try {
    const url = server.url('postgres');
    await smallManifests(url, path.join(root, 'small'));
    if (SMALL_ONLY) return;
    const store = new LocalDirObjectStore(path.join(root, 'processed'));
    let t = Date.parse('2026-11-22T00:00:00Z');
    await writeBatch(store, dims(), { createdAt: new Date(t).toISOString() });
    for (let from = 1; from <= TOTAL; from += BATCH) {
      await writeBatch(store, { fact_sales_order: factRows(from, Math.min(BATCH, TOTAL - from + 1)) }, { createdAt: new Date((t += 1000)).toISOString() });
    }

    // Loader, end to end.
    const loaderStart = performance.now();
    const summary = await loadPendingManifests({ warehouseUrl: url, processed: store, schema: 'star', logger, maxManifests: 100_000 });
    const loaderMs = performance.now() - loaderStart;
    if (summary.rowsByTable.fact_sales_order !== TOTAL) throw new Error(`loader loaded ${summary.rowsByTable.fact_sales_order} of ${TOTAL}`);

    // Raw COPY baseline: same rows already in memory, same table definition, dimensions and dates present.
    const client = createPostgresClient({ url: url, applicationName: 'totesys-cdc-bench' });
    await client.connect();
    await migrateWarehouseSchema(client, 'raw');
    await client.query(`INSERT INTO raw.dim_date SELECT * FROM star.dim_date`);
    for (const dim of ['dim_staff', 'dim_counterparty', 'dim_currency', 'dim_design', 'dim_location']) await client.query(`INSERT INTO raw.${dim} SELECT * FROM star.${dim}`);
    const spec = WAREHOUSE_MODEL.fact_sales_order;
    const batches: WarehouseRow[][] = [];
    for (let from = 1; from <= TOTAL; from += BATCH) batches.push(factRows(from, Math.min(BATCH, TOTAL - from + 1)));
    const columns = spec.columns.map((c) => c.name).join(', ');
    const rawCopy = async (target: string, format: 'text' | 'binary', rowTriggers = true): Promise<number> => {
      const started = performance.now();
      if (!rowTriggers) await client.query('SET session_replication_role = replica');
      for (const rows of batches) {
        const source = format === 'binary' ? Readable.from([encodeCopyBinary(spec.columns, rows)!]) : Readable.from(copyTextChunks(spec.columns, rows));
        await pipeline(source, client.query(copyFrom(`COPY ${target}.fact_sales_order (${columns}) FROM STDIN${format === 'binary' ? ' (FORMAT binary)' : ''}`)));
      }
      const ms = performance.now() - started;
      if (!rowTriggers) await client.query('RESET session_replication_role');
      return ms;
    };
    await migrateWarehouseSchema(client, 'raw_binary');
    for (const table of ['dim_date', 'dim_staff', 'dim_counterparty', 'dim_currency', 'dim_design', 'dim_location']) await client.query(`INSERT INTO raw_binary.${table} SELECT * FROM star.${table}`);
    const rawMs = await rawCopy('raw', 'text');
    const rawBinaryMs = await rawCopy('raw_binary', 'binary');
    await migrateWarehouseSchema(client, 'raw_unchecked');
    for (const table of ['dim_date', 'dim_staff', 'dim_counterparty', 'dim_currency', 'dim_design', 'dim_location']) await client.query(`INSERT INTO raw_unchecked.${table} SELECT * FROM star.${table}`);
    const uncheckedMs = await rawCopy('raw_unchecked', 'binary', false);
    await client.end();

    const loaderRate = TOTAL / (loaderMs / 1000);
    const rawRate = TOTAL / (rawMs / 1000);
    const rawBinaryRate = TOTAL / (rawBinaryMs / 1000);
    const best = Math.max(rawRate, rawBinaryRate);
    console.log(`\nloader bench: ${TOTAL} fact_sales_order rows in ${Math.ceil(TOTAL / BATCH)} manifests of ≤${BATCH} rows (+1 dimension manifest)\n`);
    console.table([
      { path: 'loader end to end (Parquet → inferred members → COPY into the fact table → ledger)', seconds: +(loaderMs / 1000).toFixed(2), 'rows/s': Math.round(loaderRate) },
      { path: 'raw COPY from memory, text (baseline)', seconds: +(rawMs / 1000).toFixed(2), 'rows/s': Math.round(rawRate) },
      { path: 'raw COPY from memory, binary (baseline)', seconds: +(rawBinaryMs / 1000).toFixed(2), 'rows/s': Math.round(rawBinaryRate) },
      { path: 'raw COPY from memory, binary, no per-row FK triggers (floor)', seconds: +(uncheckedMs / 1000).toFixed(2), 'rows/s': Math.round(TOTAL / (uncheckedMs / 1000)) },
    ]);
    console.log(`ratio loader/raw text = ${(loaderRate / rawRate).toFixed(2)}, loader/raw binary = ${(loaderRate / rawBinaryRate).toFixed(2)}; loader/faster raw = ${(loaderRate / best).toFixed(2)} (goal ≥ 0.90: ${loaderRate / best >= 0.9 ? 'met' : 'NOT met'}); loader/floor without per-row checks = ${(loaderRate / (TOTAL / (uncheckedMs / 1000))).toFixed(2)}`);
  } finally {
    await server.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** A backlog of small manifests, loaded one per transaction and grouped (set-based), each into a fresh schema. */
async function smallManifests(url: string, dir: string): Promise<void> {
  const store = new LocalDirObjectStore(dir);
  let t = Date.parse('2026-11-23T00:00:00Z');
  await writeBatch(store, dims(), { createdAt: new Date(t).toISOString() });
  for (let m = 0; m < SMALL_MANIFESTS; m++) {
    const from = 1 + m * SMALL_ROWS;
    // Each manifest moves one staff member to a new version, as a steady workload's batches do.
    await writeBatch(store, { dim_staff: [staffDim(1 + (m % 20), BigInt(2 + m))], fact_sales_order: factRows(from, SMALL_ROWS) }, { createdAt: new Date((t += 1000)).toISOString() });
  }
  const figures = [];
  for (const [label, group] of [['one manifest per transaction', 1], ['50 per transaction (set-based)', 50]] as const) {
    const schema = `small_${group}`;
    const started = performance.now();
    const summary = await loadPendingManifests({ warehouseUrl: url, processed: store, schema, logger, maxManifests: 100_000, maxManifestsPerTransaction: group });
    const ms = performance.now() - started;
    if (summary.rowsByTable.fact_sales_order !== SMALL_MANIFESTS * SMALL_ROWS) throw new Error(`${label}: loaded ${summary.rowsByTable.fact_sales_order} of ${SMALL_MANIFESTS * SMALL_ROWS}`);
    figures.push({ path: label, seconds: +(ms / 1000).toFixed(2), 'manifests/s': Math.round((SMALL_MANIFESTS + 1) / (ms / 1000)) });
  }
  console.log(`\nsmall manifests: ${SMALL_MANIFESTS} manifests of 1 staff row + ${SMALL_ROWS} fact rows (+1 dimension manifest)\n`);
  console.table(figures);
  console.log(`grouped / one per transaction: ${(figures[0]!.seconds / figures[1]!.seconds).toFixed(2)}x`);
}

await main();
