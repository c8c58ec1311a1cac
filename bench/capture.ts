/**
 * Capture throughput: one large transaction (BENCH_ROWS, default 1,000,000 sales_order inserts)
 * decoded by `pg_recvlogical` (pgoutput to /dev/null: the server-side decoding floor) and by
 * runCapture into a null writer and into the real local log. Prints events/s and the ratio.
 *
 *   npm run bench:capture            (script: "tsx bench/capture.ts")
 *   BENCH_ROWS=200000 npx tsx bench/capture.ts
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { runCapture } from '../capture/run-capture.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { ensureDatabase, startEmbeddedPostgres } from '../runtime/embedded-postgres.js';
import type { ChangeStreamWriter, StreamRecord } from '../stream/change-stream.js';

const run = promisify(execFile);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const INSERT = `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id,
  agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
  SELECT 1, 1, 1, g % 1000 + 1, (g % 10000) / 100.0 + 1, 1 + g % 3, '2024-01-02', '2024-01-03', 1 FROM generate_series(1, $1::int) g`;

class NullWriter implements ChangeStreamWriter {
  records = 0;
  async put(records: readonly StreamRecord[]) {
    this.records += records.length;
  }
  async close() {}
}

async function findPgRecvlogical(): Promise<string> {
  for (const v of ['17', '16', '15', '14']) {
    const bin = `/usr/lib/postgresql/${v}/bin/pg_recvlogical`;
    if (existsSync(bin)) return bin;
  }
  console.error('pg_recvlogical not found: installing postgresql-client with apt-get');
  await run('apt-get', ['install', '-y', 'postgresql-client']);
  return findPgRecvlogical();
}

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
    const c = new pg.Client({ connectionString: url });
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
    for (const slot of ['bench_null', 'bench_log']) {
      await runCapture({ sourceUrl: url, config: capture(slot), writer: new NullWriter(), logger: silentLogger, stopAtLsn: await lsnNow() });
    }
    await c.query(`SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput')`);

    console.log(`inserting ${ROWS.toLocaleString()} rows in one transaction...`);
    let t = performance.now();
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica'); // skip FK triggers: same WAL, 10x faster insert
    await c.query(INSERT, [ROWS]);
    await c.query('COMMIT');
    console.log(`inserted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const endLsn = await lsnNow();
    await c.query('CHECKPOINT');

    const results: { name: string; seconds: number }[] = [];
    t = performance.now();
    await run(recvlogical, ['-d', url, '--slot', 'bench_recv', '--start', '-o', 'proto_version=1', '-o', 'publication_names=bench_null', '--endpos', endLsn, '-f', '/dev/null', '--no-loop'], {
      maxBuffer: 1 << 20,
    });
    results.push({ name: 'pg_recvlogical → /dev/null (baseline)', seconds: (performance.now() - t) / 1000 });

    const nullWriter = new NullWriter();
    t = performance.now();
    await runCapture({ sourceUrl: url, config: capture('bench_null'), writer: nullWriter, logger: silentLogger, stopAtLsn: endLsn });
    results.push({ name: 'capture → null writer', seconds: (performance.now() - t) / 1000 });
    if (nullWriter.records < ROWS) throw new Error(`capture published ${nullWriter.records} of ${ROWS}`);

    const logPath = path.join(dir, 'stream');
    try {
      const { openLocalLog } = await import('../stream/local-log/local-log.js');
      const writer = await openLocalLog(logPath, { shards: 4 }).writer();
      t = performance.now();
      await runCapture({ sourceUrl: url, config: capture('bench_log'), writer, logger: silentLogger, stopAtLsn: endLsn });
      results.push({ name: 'capture → local log (fsync)', seconds: (performance.now() - t) / 1000 });
      await writer.close();
    } catch (error) {
      console.error(`local-log variant skipped: ${(error as Error).message}`);
    }
    await c.end();

    const base = results[0].seconds;
    console.log(`\n${ROWS.toLocaleString()} changes in one transaction`);
    console.log(`bench process peak RSS (capture runs in-process): ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
    console.log('| variant | seconds | events/s | ratio to pg_recvlogical |');
    console.log('|---|---:|---:|---:|');
    for (const r of results) {
      console.log(`| ${r.name} | ${r.seconds.toFixed(2)} | ${Math.round(ROWS / r.seconds).toLocaleString()} | ${(base / r.seconds).toFixed(2)} |`);
    }
  } finally {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
