import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { readPipelineStatus } from '../../runtime/pipeline-status.js';
import { seedTotesys } from '../../totesys/generator/seed-totesys.js';
import { runSimulator } from '../../totesys/simulator/run-simulator.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { createClusterDatabase, startPostgresCluster, systemBinDir } from '../support/postgres-cluster.js';
import { createTestDatabase, withClient } from '../support/postgres.js';
import { warehouseDifferences } from '../support/warehouse-equals-source.js';

/**
 * Issue 14 item 9: the main end-to-end (seed → sync → workload and cascades → sync → the warehouse
 * equals independent SQL on the source, and `status` reads) on two Postgres majors: the embedded 17
 * (the shared test cluster) and the machine's PostgreSQL 15 (a private cluster from
 * `pg_config --bindir`; .ci/run installs Debian's postgresql-15, elsewhere without it the case is
 * skipped). The source has the real schema's DDL as Prisma writes it (test/fixtures/third_party/totesys-prisma-schema.sql):
 * quoted mixed-case enum type names, ON UPDATE CASCADE / ON DELETE SET NULL foreign keys, unique indexes.
 */
interface Target {
  sourceUrl: string;
  warehouseUrl: string;
  close(): Promise<void>;
}

const systemBin = systemBinDir();
const MAJORS = [
  {
    label: 'embedded PostgreSQL 17',
    major: 17,
    available: true,
    open: async (): Promise<Target> => {
      const [source, warehouse] = await Promise.all([createTestDatabase('majors source'), createTestDatabase('majors warehouse')]);
      return { sourceUrl: source.url, warehouseUrl: warehouse.url, close: async () => void (await Promise.all([source.drop(), warehouse.drop()])) };
    },
  },
  {
    label: 'machine PostgreSQL 15',
    major: 15,
    available: systemBin !== null,
    open: async (): Promise<Target> => {
      const cluster = await startPostgresCluster({ binDir: systemBin! });
      const [sourceUrl, warehouseUrl] = await Promise.all([createClusterDatabase(cluster, 'totesys'), createClusterDatabase(cluster, 'warehouse')]);
      return { sourceUrl, warehouseUrl, close: () => cluster.stop() };
    },
  },
];

describe.each(MAJORS)('end to end with the real schema on $label', ({ major, available, open }) => {
  let target: Target | undefined;
  let stateDir: string;
  let common: string[];
  let slot: string;

  beforeAll(async () => {
    if (!available) return;
    target = await open();
    const ddl = await fs.readFile(path.join(REPO_ROOT, 'test/fixtures/third_party/totesys-prisma-schema.sql'), 'utf8');
    await withClient(target.sourceUrl, (c) => c.query(ddl));
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), `totesys-cdc-pg${major}-`));
    // Slots are cluster-wide: names of our own keep parallel test files on the shared cluster apart.
    slot = `majors_${randomBytes(4).toString('hex')}`;
    common = ['--state-dir', stateDir, '--source-url', target.sourceUrl, '--warehouse-url', target.warehouseUrl, '--slot-name', slot, '--publication-name', slot, '--heartbeat-interval-ms', '1000'];
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it.skipIf(!available)('sync after seed, workload and cascades gives the star schema computed on the source', async () => {
    const { sourceUrl, warehouseUrl } = target!;
    for (const url of [sourceUrl, warehouseUrl]) {
      const version = await withClient(url, async (c) => Number((await c.query(`SELECT current_setting('server_version_num') AS v`)).rows[0].v));
      expect(Math.floor(version / 10_000), `server major of ${url.replace(/\/\/[^@]*@/, '//')}`).toBe(major);
    }
    // Seed and workload in process (the CLI's own are tested elsewhere); `sync` as a user runs it.
    await seedTotesys(sourceUrl, { scale: 0.02, seed: 4, applySchema: false });
    const first = await runCli(['sync', ...common], { timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(await warehouseDifferences(sourceUrl, warehouseUrl), 'after the first sync').toEqual({});

    const workload = await runSimulator(sourceUrl, { ratePerSecond: 5_000, changes: 300, seed: 9 });
    expect(workload.changes).toBeGreaterThan(250);
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

    // What `status` reads (slot views, ledger, quarantine) works on this major too.
    const config = loadConfig({ stateDir, sourceUrl, warehouseUrl, slotName: slot, publicationName: slot, logLevel: 'silent' }, {});
    const status = await readPipelineStatus(config, { sourceUrl, warehouseUrl }, silentLogger, { quarantine: true });
    expect(status.slot).toMatchObject({ exists: true, walStatus: 'reserved' });
    expect(status.warehouse).toMatchObject({ initialised: true, failedManifests: 0 });
    expect(status.quarantine).toMatchObject({ objects: 0 });
  }, 300_000);
});
