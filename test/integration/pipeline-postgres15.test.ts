import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { createClusterDatabase, startPostgresCluster, systemBinDir, type PostgresCluster } from '../support/postgres-cluster.js';
import { withClient } from '../support/postgres.js';
import { warehouseDifferences } from '../support/warehouse-equals-source.js';

/**
 * Issue 14 item 9: the main end-to-end (seed → sync → workload → sync → the warehouse equals
 * independent SQL on the source) on the machine's PostgreSQL 15 (source and warehouse), the other
 * major beside the embedded 17 every other test uses, with the real schema's features
 * (test/support/totesys-prisma-schema.sql): quoted mixed-case enum type names, ON UPDATE CASCADE /
 * ON DELETE SET NULL foreign keys, unique indexes. .ci/run installs Debian's postgresql-15 when it
 * is missing; elsewhere, without it, the test is skipped with a note.
 */
const binDir = systemBinDir();

describe.skipIf(!binDir)('end to end on the machine PostgreSQL (15)', () => {
  let cluster: PostgresCluster;
  let sourceUrl: string;
  let warehouseUrl: string;
  let stateDir: string;
  let common: string[];

  beforeAll(async () => {
    cluster = await startPostgresCluster({ binDir: binDir! });
    [sourceUrl, warehouseUrl] = await Promise.all([createClusterDatabase(cluster, 'totesys'), createClusterDatabase(cluster, 'warehouse')]);
    const ddl = await fs.readFile(path.join(REPO_ROOT, 'test/support/totesys-prisma-schema.sql'), 'utf8');
    await withClient(sourceUrl, (c) => c.query(ddl));
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-pg15-'));
    common = ['--state-dir', stateDir, '--source-url', sourceUrl, '--warehouse-url', warehouseUrl, '--heartbeat-interval-ms', '1000'];
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('sync after seed, workload and cascades gives the star schema computed on the source', async () => {
    expect(cluster.majorVersion, `${binDir} is not PostgreSQL 15`).toBe(15);
    const seeded = await runCli(['seed', '--scale', '0.02', ...common], { timeoutMs: 60_000 });
    expect(seeded.code, seeded.stderr).toBe(0);
    const first = await runCli(['sync', ...common], { timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(await warehouseDifferences(sourceUrl, warehouseUrl), 'after the first sync').toEqual({});

    const workload = await runCli(['simulate', '--rate', '2000', '--changes', '300', '--seed', '9', ...common], { timeoutMs: 60_000 });
    expect(workload.code, workload.stderr).toBe(0);
    // The real schema's cascades: a deleted order nulls its transaction's reference (ON DELETE SET
    // NULL, a change Postgres makes itself and logical decoding sends as an update of transaction).
    await withClient(sourceUrl, async (c) => {
      const { rows } = await c.query(`SELECT sales_order_id FROM "transaction" WHERE sales_order_id IS NOT NULL ORDER BY sales_order_id LIMIT 1`);
      await c.query(`DELETE FROM "sales_order" WHERE sales_order_id = $1`, [rows[0].sales_order_id]);
      const nulled = await c.query(`SELECT count(*)::int AS n FROM "transaction" WHERE sales_order_id IS NULL AND transaction_type = 'SALE'`);
      expect(nulled.rows[0].n).toBeGreaterThan(0);
    });
    const second = await runCli(['sync', ...common], { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary.eventsQuarantined).toBe(0);
    expect(summary.eventsCaptured).toBeGreaterThan(300);
    expect(await warehouseDifferences(sourceUrl, warehouseUrl), 'after the workload').toEqual({});
  }, 300_000);
});
