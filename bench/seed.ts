/**
 * Seeding throughput: `seedTotesys` at a given scale versus a raw COPY baseline of the very same
 * rows (pre-generated to files, then streamed with COPY FROM STDIN into an empty schema that keeps
 * its foreign keys, as a plain `\copy` restore would; and into the same tables without foreign keys,
 * the pure-ingest upper bound). Prints rows/s for both, their ratio, and the
 * peak RSS of the seeding process (the generator must stay in bounded memory at any scale).
 *
 *   npx tsx bench/seed.ts --scale 10 [--seed 1] [--no-baseline]
 */
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { createPostgresClient } from '../platform/postgres-client.js';
import copyStreams from 'pg-copy-streams';
import { createLogger } from '../platform/logger.js';
import { SOURCE_TABLES } from '../contracts/source-tables.js';
import { ensureDatabase, startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import { seedTotesys, type SeedSummary } from '../totesys/generator/seed-totesys.js';
import { applySourceSchema } from '../totesys/source-schema.js';
import { EXPECTED_SOURCE_COLUMNS } from '../totesys/source-columns.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const scale = arg('scale', 10);
const seed = arg('seed', 1);
/** `--no-baseline` skips the two baselines (a scale-100 baseline with foreign keys takes very long). */
const withBaseline = !process.argv.includes('--no-baseline');
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-seed-'));
const server = await startEmbeddedPostgres({
  dataDir: path.join(root, 'postgres'),
  logger: createLogger({ service: 'bench-seed', level: 'warn' }),
  settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
});
try {
  await ensureDatabase(server.url('postgres'), 'seeded');
  await ensureDatabase(server.url('postgres'), 'baseline');
  await ensureDatabase(server.url('postgres'), 'baseline_no_fk');
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const summary = await seedTotesys(server.url('seeded'), {
    scale,
    seed,
    onProgress: (p) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (p.rows === p.totalRows && p.totalRows > 1000) process.stderr.write(`  ${p.table}: ${p.rows} rows\n`);
    },
  });
  clearInterval(rssTimer);
  const seedRowsPerSecond = summary.totalRows / (summary.durationMs / 1000);
  if (!withBaseline) {
    console.log(JSON.stringify({ scale, seed, rows: summary.totalRows, salesOrders: summary.rowCounts.sales_order, seedMs: summary.durationMs, seedPhaseMs: summary.phaseMs, seedRowsPerSecond: Math.round(seedRowsPerSecond), peakRssMb: Math.round(peakRss / 1e6), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1e3), loadAverage: os.loadavg()[0].toFixed(1) }));
  }

  if (withBaseline) await measureBaselines(summary, peakRss);
} finally {
  await server.stop();
  await fs.rm(root, { recursive: true, force: true });
}

/** Dumps the seeded rows to COPY files (not timed), then times plain COPY loads of them. */
async function measureBaselines(summary: SeedSummary, peakRss: number): Promise<void> {
  const seedRowsPerSecond = summary.totalRows / (summary.durationMs / 1000);
  const seeded = createPostgresClient({ url: server.url('seeded'), applicationName: 'totesys-cdc-bench' });
  const baseline = createPostgresClient({ url: server.url('baseline'), applicationName: 'totesys-cdc-bench' });
  await seeded.connect();
  await baseline.connect();
  try {
    for (const table of SOURCE_TABLES) {
      const columns = EXPECTED_SOURCE_COLUMNS[table].map((c) => seeded.escapeIdentifier(c.name)).join(', ');
      await pipeline(seeded.query(copyStreams.to(`COPY ${seeded.escapeIdentifier(table)} (${columns}) TO STDOUT`)), createWriteStream(path.join(root, `${table}.copy`)));
    }
    const timeCopy = async (client: pg.Client): Promise<number> => {
      const started = performance.now();
      await client.query('BEGIN');
      for (const table of SOURCE_TABLES) {
        const columns = EXPECTED_SOURCE_COLUMNS[table].map((c) => client.escapeIdentifier(c.name)).join(', ');
        await pipeline(createReadStream(path.join(root, `${table}.copy`)) as Readable, client.query(copyStreams.from(`COPY ${client.escapeIdentifier(table)} (${columns}) FROM STDIN`)));
      }
      await client.query('COMMIT');
      return performance.now() - started;
    };
    await applySourceSchema(baseline);
    const baselineMs = await timeCopy(baseline);
    // Second baseline: the same COPY into tables without foreign keys (pure ingest, no checks at all).
    const noFk = createPostgresClient({ url: server.url('baseline_no_fk'), applicationName: 'totesys-cdc-bench' });
    await noFk.connect();
    await applySourceSchema(noFk);
    const { rows: fks } = await noFk.query(`SELECT conrelid::regclass::text AS t, conname FROM pg_constraint WHERE contype = 'f'`);
    for (const fk of fks) await noFk.query(`ALTER TABLE ${fk.t} DROP CONSTRAINT ${noFk.escapeIdentifier(fk.conname)}`);
    const noFkMs = await timeCopy(noFk);
    await noFk.end();
    const baselineRowsPerSecond = summary.totalRows / (baselineMs / 1000);
    const noFkRowsPerSecond = summary.totalRows / (noFkMs / 1000);
    const result = {
      scale,
      seed,
      rows: summary.totalRows,
      salesOrders: summary.rowCounts.sales_order,
      seedMs: summary.durationMs,
      seedPhaseMs: summary.phaseMs,
      seedRowsPerSecond: Math.round(seedRowsPerSecond),
      baselineCopyMs: Math.round(baselineMs),
      baselineRowsPerSecond: Math.round(baselineRowsPerSecond),
      ratioSeedToBaseline: Number((seedRowsPerSecond / baselineRowsPerSecond).toFixed(2)),
      baselineNoFkCopyMs: Math.round(noFkMs),
      baselineNoFkRowsPerSecond: Math.round(noFkRowsPerSecond),
      ratioSeedToNoFkBaseline: Number((seedRowsPerSecond / noFkRowsPerSecond).toFixed(2)),
      peakRssMb: Math.round(peakRss / 1e6),
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1e3),
      cores: os.cpus().length,
      loadAverage: os.loadavg()[0].toFixed(1),
    };
    console.log(JSON.stringify(result));
  } finally {
    await seeded.end();
    await baseline.end();
  }
  
}
