/**
 * Capture throughput: one large transaction (BENCH_ROWS, default 1,000,000 sales_order inserts)
 * decoded by `pg_recvlogical` (pgoutput to /dev/null: the server-side decoding floor) and by
 * runCapture into a null writer and into the real local log. Prints events/s, the ratio, and CPU
 * time: the capture's (this process, libuv threads included: the local log's write/fsync system
 * time counts) and pg_recvlogical's. The machine is often shared, so wall times are noisy:
 * BENCH_REPEATS runs every variant that many times, interleaved (each repeat on its own slots, so
 * all decode the same WAL), and reports medians; the ratio is the median of per-repeat ratios.
 *
 *   npm run bench:capture            (script: "tsx bench/capture.ts")
 *   BENCH_ROWS=200000 BENCH_REPEATS=3 npx tsx bench/capture.ts
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPostgresClient } from '../platform/postgres-client.js';
import { runCapture } from '../capture/run-capture.js';
import { createLogger, silentLogger } from '../platform/logger.js';
import { ensureDatabase, startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import { findPgRecvlogical, timePgRecvlogical } from './pg-recvlogical.js';
import { CountingWriter, median } from './measure.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 1));
const INSERT = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
  agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
  SELECT 1, 1, 1, g % 1000 + 1, (g % 10000) / 100.0 + 1, 1 + g % 3, '2024-01-02', '2024-01-03', 1 FROM generate_series(1, $1::int) g`;

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

async function main() {
  const recvlogical = await findPgRecvlogical();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-capture-'));
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    logger: createLogger({ service: 'bench', level: 'warn' }),
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_wal_size: '4GB' },
  });
  try {
    await ensureDatabase(server.url('postgres'), 'totesys');
    const url = server.url('totesys');
    const c = createPostgresClient({ url: url, applicationName: 'totesys-cdc-bench' });
    await c.connect();
    await c.query(await fs.readFile(new URL('../totesys/schema.sql', import.meta.url), 'utf8'));
    await c.query(`INSERT INTO address (address_line_1, city, postal_code, country, phone) VALUES ('1 Road', 'Leeds', 'LS1', 'UK', '0113')`);
    await c.query(`INSERT INTO counterparty (counterparty_legal_name, legal_address_id) VALUES ('Acme', 1)`);
    await c.query(`INSERT INTO currency (currency_code) VALUES ('GBP'), ('USD'), ('EUR')`);
    await c.query(`INSERT INTO department (department_name) VALUES ('Sales')`);
    await c.query(`INSERT INTO design (design_name, file_location, file_name) VALUES ('Steel', '/usr', 'steel.json')`);
    await c.query(`INSERT INTO staff (first_name, last_name, department_id, email_address) VALUES ('Ann', 'Lee', 1, 'a@example.com')`);

    // Slots first (capture's own setup: publication, replica identity, slot + empty snapshot). One
    // publication per slot: the snapshot marker lives in the publication.
    const capture = (slotName: string) => ({ capture: { slotName, publicationName: slotName, replicaIdentityFull: true, heartbeatIntervalMs: 1000 } });
    const lsnNow = async () => (await c.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
    for (let r = 0; r < REPEATS; r++) {
      for (const slot of [`bench_null_${r}`, `bench_log_${r}`]) {
        await runCapture({ sourceUrl: url, config: capture(slot), writer: new CountingWriter(), logger: silentLogger, stopAtLsn: await lsnNow() });
      }
      await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [`bench_recv_${r}`]);
    }

    console.log(`inserting ${ROWS.toLocaleString()} rows in one transaction...`);
    let t = performance.now();
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica'); // skip FK triggers: same WAL, 10x faster insert
    await c.query(INSERT, [ROWS]);
    await c.query('COMMIT');
    console.log(`inserted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const endLsn = await lsnNow();
    await c.query('CHECKPOINT');

    type Run = { seconds: number; cpuSeconds: number | null };
    const variants = ['pg_recvlogical → /dev/null (baseline)', 'capture → null writer', 'capture → local log (fsync)'];
    const shortNames = ['pg_recvlogical', 'null writer', 'local log'];
    const runs: Run[][] = variants.map(() => []);
    const { openLocalLog } = await import('../stream/local-log/local-log.js');
    for (let r = 0; r < REPEATS; r++) {
      runs[0].push(await timePgRecvlogical(recvlogical, { url, slot: `bench_recv_${r}`, publication: `bench_null_${r}`, endLsn }));

      const nullWriter = new CountingWriter();
      let cpu = process.cpuUsage();
      t = performance.now();
      await runCapture({ sourceUrl: url, config: capture(`bench_null_${r}`), writer: nullWriter, logger: silentLogger, stopAtLsn: endLsn });
      runs[1].push({ seconds: (performance.now() - t) / 1000, cpuSeconds: cpuSeconds(cpu) });
      if (nullWriter.records < ROWS) throw new Error(`capture published ${nullWriter.records} of ${ROWS}`);

      const writer = await openLocalLog(path.join(dir, `stream_${r}`), { shards: 4 }).writer();
      cpu = process.cpuUsage();
      t = performance.now();
      await runCapture({ sourceUrl: url, config: capture(`bench_log_${r}`), writer, logger: silentLogger, stopAtLsn: endLsn });
      runs[2].push({ seconds: (performance.now() - t) / 1000, cpuSeconds: cpuSeconds(cpu) });
      await writer.close();
      console.log(`repeat ${r + 1}/${REPEATS}: ${runs.map((v, i) => `${shortNames[i]} ${v[r].seconds.toFixed(2)} s`).join(', ')}`);
    }
    await c.end();

    console.log(`\n${ROWS.toLocaleString()} changes in one transaction, median of ${REPEATS} run(s)`);
    console.log(`bench process peak RSS (capture runs in-process): ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
    console.log('| variant | seconds | events/s | CPU seconds | ratio to pg_recvlogical |');
    console.log('|---|---:|---:|---:|---:|');
    runs.forEach((variantRuns, i) => {
      const seconds = median(variantRuns.map((x) => x.seconds));
      const cpus = variantRuns.map((x) => x.cpuSeconds).filter((x): x is number => x !== null);
      const ratio = median(variantRuns.map((x, r) => runs[0][r].seconds / x.seconds));
      const cpu = cpus.length ? median(cpus).toFixed(2) : 'n/a';
      console.log(`| ${variants[i]} | ${seconds.toFixed(2)} | ${Math.round(ROWS / seconds).toLocaleString()} | ${cpu} | ${ratio.toFixed(2)} |`);
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
