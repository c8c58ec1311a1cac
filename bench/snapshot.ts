/**
 * Initial-snapshot throughput: a seeded totesys (BENCH_SCALE, default 10) read by the capture's
 * initial snapshot (slot, exported snapshot, every table in key order, `r` events and reconcile
 * records) into a null writer and into the real local log (fsync per batch), next to the read
 * floor measured on the same database in the same run: `COPY (SELECT every column::text … ORDER
 * BY key) TO STDOUT` of every table into /dev/null through pg-copy-streams (Postgres reads and
 * sends the same texts; no client work). BENCH_REPEATS runs each variant that many times,
 * interleaved, each capture on its own slot; medians are printed, with this process's CPU seconds
 * (the capture runs in-process) and Postgres's.
 *
 *   npm run bench:snapshot
 *   BENCH_SCALE=1 BENCH_REPEATS=3 npm run bench:snapshot
 *   BENCH_BATCH_ROWS=1000 npm run bench:snapshot   (rows per snapshot chunk; the capture's default otherwise)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pgCopyStreams from 'pg-copy-streams';
import { runCapture } from '../capture/run-capture.js';
import { PRIMARY_KEYS, SOURCE_TABLES } from '../contracts/source-tables.js';
import { createLogger, silentLogger } from '../platform/logger.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import { ensureDatabase, startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import type { ChangeStreamWriter } from '../stream/change-stream.js';
import { openLocalLog } from '../stream/local-log/local-log.js';
import { seedTotesys } from '../totesys/generator/seed-totesys.js';
import { CountingWriter, median, postgresCpuSeconds } from './measure.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 2));
/** Rows per snapshot chunk (the capture's default when unset). */
const BATCH_ROWS = process.env.BENCH_BATCH_ROWS ? Number(process.env.BENCH_BATCH_ROWS) : undefined;

/** The read floor: every table's rows as text, in key order, copied out to nowhere. */
async function copyOutEveryTable(url: string): Promise<number> {
  const client = createPostgresClient({ url, applicationName: 'totesys-cdc-bench' });
  await client.connect();
  let bytes = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const table of SOURCE_TABLES) {
      const { rows } = await client.query<{ attname: string }>(
        'SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
        [client.escapeIdentifier(table)],
      );
      const select = rows.map((c) => `${client.escapeIdentifier(c.attname)}::text`).join(', ');
      const copy = client.query(pgCopyStreams.to(`COPY (SELECT ${select} FROM ${client.escapeIdentifier(table)} ORDER BY ${client.escapeIdentifier(PRIMARY_KEYS[table])}) TO STDOUT`));
      await pipeline(copy, new Writable({ write: (chunk: Buffer, _encoding, done) => ((bytes += chunk.length), done()) }));
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  return bytes;
}

async function main() {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-snapshot-'));
  const dataDir = path.join(dir, 'pg');
  const server = await startEmbeddedPostgres({ dataDir, logger: createLogger({ service: 'bench', level: 'warn' }), settings: { max_wal_size: '4GB' } });
  try {
    await ensureDatabase(server.url('postgres'), 'totesys');
    const url = server.url('totesys');
    let t = performance.now();
    const seeded = await seedTotesys(url, { scale: SCALE, seed: 1 });
    console.log(`seeded scale ${SCALE}: ${seeded.totalRows.toLocaleString()} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const lsnClient = createPostgresClient({ url, applicationName: 'totesys-cdc-bench' });
    await lsnClient.connect();
    const lsnNow = async () => (await lsnClient.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;

    type Run = { seconds: number; cpuSeconds: number; postgresCpuSeconds: number; events: number };
    const variants = ['COPY … TO STDOUT of every table (read floor)', 'initial snapshot → null writer', 'initial snapshot → local log (fsync)'];
    const runs: Run[][] = variants.map(() => []);
    const measure = async (variant: number, fn: () => Promise<number>) => {
      const pgBefore = await postgresCpuSeconds(dataDir);
      const cpu = process.cpuUsage();
      t = performance.now();
      const events = await fn();
      const seconds = (performance.now() - t) / 1000;
      const used = process.cpuUsage(cpu);
      runs[variant]!.push({ seconds, cpuSeconds: (used.user + used.system) / 1e6, postgresCpuSeconds: (await postgresCpuSeconds(dataDir)) - pgBefore, events });
    };
    const capture = async (slot: string, writer: ChangeStreamWriter) => {
      const config = { capture: { slotName: slot, publicationName: slot, replicaIdentityFull: true, heartbeatIntervalMs: 1000 } };
      const result = await runCapture({ sourceUrl: url, config, writer, logger: silentLogger, stopAtLsn: await lsnNow(), snapshotBatchRows: BATCH_ROWS });
      if (result.snapshotRows !== seeded.totalRows) throw new Error(`snapshot read ${result.snapshotRows} of ${seeded.totalRows} rows`);
      return result.snapshotRows;
    };
    for (let r = 0; r < REPEATS; r++) {
      await measure(0, async () => {
        await copyOutEveryTable(url);
        return seeded.totalRows;
      });
      await measure(1, () => capture(`bench_snap_null_${r}`, new CountingWriter()));
      const writer = await openLocalLog(path.join(dir, `stream_${r}`), { shards: 4 }).writer();
      await measure(2, async () => {
        try {
          return await capture(`bench_snap_log_${r}`, writer);
        } finally {
          await writer.close();
        }
      });
      console.log(`repeat ${r + 1}/${REPEATS}: ${runs.map((v) => `${v[r]!.seconds.toFixed(2)} s`).join(', ')} (load average ${os.loadavg()[0]!.toFixed(1)})`);
    }
    for (const slot of (await lsnClient.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'bench_snap_%'")).rows) {
      await lsnClient.query('SELECT pg_drop_replication_slot($1)', [slot.slot_name]);
    }
    await lsnClient.end();

    console.log(`\ninitial snapshot of ${seeded.totalRows.toLocaleString()} rows (scale ${SCALE}), median of ${REPEATS} run(s), ${os.cpus().length} cores`);
    console.log('| variant | seconds | rows/s | CPU seconds (this process) | Postgres CPU seconds | ratio to the read floor |');
    console.log('|---|---:|---:|---:|---:|---:|');
    runs.forEach((variantRuns, i) => {
      const seconds = median(variantRuns.map((x) => x.seconds));
      const ratio = median(variantRuns.map((x, r) => runs[0]![r]!.seconds / x.seconds));
      console.log(
        `| ${variants[i]} | ${seconds.toFixed(2)} | ${Math.round(seeded.totalRows / seconds).toLocaleString()} | ${median(variantRuns.map((x) => x.cpuSeconds)).toFixed(2)} | ${median(variantRuns.map((x) => x.postgresCpuSeconds)).toFixed(2)} | ${ratio.toFixed(2)} |`,
      );
    });
  } finally {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
