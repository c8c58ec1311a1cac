import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { LATEST_SCHEMA_VERSION } from '../../loader/warehouse-schema.js';
import { captureUserSql } from '../../ops/doctor/capture-user-sql.js';
import type { DoctorReport } from '../../ops/doctor/check.js';
import { runDoctor } from '../../ops/doctor/run-doctor.js';
import { createLogger } from '../../platform/logger.js';
import { startEmbeddedPostgres, ensureDatabase, type RunningPostgres } from '../../runtime/embedded-postgres.js';
import { runCapture } from '../../capture/run-capture.js';
import { silentLogger } from '../../platform/logger.js';
import { RecordingWriter } from '../support/capture-recorder.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase, withAdmin, withClient, type TestDatabase } from '../support/postgres.js';
import { createTotesysSchema } from '../support/totesys-source.js';

const currentLsn = (url: string) => withClient(url, async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn);
const capture = { slotName: 'totesys_cdc', publicationName: 'totesys_cdc', replicaIdentityFull: true };
const statusOf = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id)?.status;
const checkOf = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id);

/** The URL of `db` for another login role (roles are cluster-wide: named per run). */
function urlAs(dbUrl: string, user: string, password: string): string {
  const url = new URL(dbUrl);
  url.username = user;
  url.password = password;
  return url.toString();
}

describe('doctor against real Postgres', () => {
  const suffix = randomBytes(3).toString('hex');
  const owner = `t_doctor_owner_${suffix}`;
  const captureUser = `t_doctor_capture_${suffix}`;
  const password = randomBytes(12).toString('hex');
  let db: TestDatabase;
  let stateDir: string;

  beforeAll(async () => {
    db = await createTestDatabase('ops_doctor');
    stateDir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'doctor-')), 'never-created');
    // The owner plays the RDS master user: not a superuser, may create roles, owns the database and tables.
    await withAdmin(async (c) => {
      await c.query(`CREATE ROLE ${owner} WITH LOGIN CREATEROLE REPLICATION PASSWORD '${password}'`);
      await c.query(`ALTER DATABASE ${db.name} OWNER TO ${owner}`);
    });
    await withClient(db.url, (c) => c.query(`ALTER SCHEMA public OWNER TO ${owner}`));
    await createTotesysSchema(urlAs(db.url, owner, password));
  });
  afterAll(async () => {
    await db.drop();
    await withAdmin(async (c) => {
      for (const role of [captureUser, owner]) await c.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  it('a bare login role fails with the exact fixes and the least-privilege SQL; after that SQL every check passes', async () => {
    await withClient(urlAs(db.url, owner, password), (c) => c.query(`CREATE ROLE ${captureUser} WITH LOGIN PASSWORD '${password}'`));
    const asCapture = urlAs(db.url, captureUser, password);
    // A hardened server: the heartbeat function is not executable by PUBLIC (function privileges are per database).
    await withClient(db.url, async (c) => {
      const { rows } = await c.query<{ fn: string }>(`SELECT oid::regprocedure::text AS fn FROM pg_proc WHERE proname = 'pg_logical_emit_message'`);
      for (const { fn } of rows) await c.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
    });

    const before = await runCli(['doctor', '--only', 'source', '--json', '--source-url', asCapture, '--state-dir', stateDir]);
    expect(before.code).toBe(1);
    const report = JSON.parse(before.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(statusOf(report, 'source.wal_level')).toBe('ok');
    expect(checkOf(report, 'source.replication_role')).toMatchObject({ status: 'fail', fix: expect.stringContaining(`ALTER ROLE "${captureUser}" WITH REPLICATION;`) });
    expect(checkOf(report, 'source.select')).toMatchObject({ status: 'fail', fix: expect.stringContaining(`GRANT SELECT ON TABLE "public"."address"`) });
    expect(checkOf(report, 'source.replica_identity')).toMatchObject({ status: 'fail', fix: expect.stringContaining('ALTER TABLE "public"."payment" REPLICA IDENTITY FULL;') });
    expect(checkOf(report, 'source.publication')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/cannot create it \(no CREATE on database .*; does not own address/) });
    expect(report.captureUserSql).toContain(`CREATE ROLE "totesys_cdc_capture" WITH LOGIN REPLICATION;`);
    const heartbeat = checkOf(report, 'source.heartbeat');
    expect(heartbeat).toMatchObject({ status: 'warn', fix: expect.stringMatching(/^GRANT EXECUTE ON FUNCTION pg_logical_emit_message\(.*\) TO "t_doctor_capture_/) });
    await withClient(db.url, (c) => c.query(heartbeat!.fix!)); // as a superuser: it owns the function
    // No local state: with URLs given, doctor never touches the state directory.
    expect(existsSync(stateDir)).toBe(false);

    // The documented SQL, step 1 as the "master" owner (it has REPLICATION, so may grant it), step 2 as the table owner.
    const sql = captureUserSql({ platform: 'postgres', user: captureUser, database: db.name, schema: 'public', publicationName: capture.publicationName })
      .split('\n')
      .filter((line) => !line.startsWith('--') && !line.startsWith('CREATE ROLE') && line.trim() !== '');
    await withClient(urlAs(db.url, owner, password), async (c) => {
      await c.query(`ALTER ROLE ${captureUser} WITH REPLICATION`);
      for (const statement of sql) await c.query(statement);
    });

    const after = await runCli(['doctor', '--only', 'source', '--source-url', asCapture, '--state-dir', stateDir]);
    expect(after.stdout).toContain('All prerequisites met');
    expect(after.code).toBe(0);
    const json = await runDoctor({ sourceUrl: asCapture, warehouseSchema: 'star', capture });
    expect(json.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(checkOf(json, 'source.publication')?.summary).toContain(`owned by ${captureUser}`);

    // The proof that the SQL is enough: the real capture, as that user, snapshots and streams.
    await withClient(db.url, async (c) => {
      await c.query(`INSERT INTO currency (currency_code) VALUES ('GBP')`);
    });
    const slotName = `t_doctor_slot_${suffix}`;
    const writer = new RecordingWriter();
    const snapshot = runCapture({ sourceUrl: asCapture, config: { capture: { ...capture, slotName, heartbeatIntervalMs: 10_000 } }, writer, logger: silentLogger, stopAtLsn: await currentLsn(db.url) });
    expect((await snapshot).snapshotRows).toBe(1);
    await withClient(db.url, (c) => c.query(`UPDATE currency SET currency_code = 'EUR'`));
    const streamed = await runCapture({ sourceUrl: asCapture, config: { capture: { ...capture, slotName, heartbeatIntervalMs: 10_000 } }, writer, logger: silentLogger, stopAtLsn: await currentLsn(db.url) });
    expect(streamed.reason).toBe('stop-lsn-reached');
    expect(writer.events().map((e) => [e.table, e.op])).toEqual([['currency', 'r'], ['currency', 'u']]);
    await withClient(db.url, (c) => c.query('SELECT pg_drop_replication_slot($1)', [slotName]));
  }, 180_000);

  it('a table without a primary key or replica identity fails when the capture does not set FULL', async () => {
    const other = await createTestDatabase('ops_doctor_identity');
    try {
      await createTotesysSchema(other.url);
      await withClient(other.url, async (c) => {
        await c.query('ALTER TABLE payment DROP CONSTRAINT payment_pkey CASCADE');
        await c.query('ALTER TABLE design REPLICA IDENTITY NOTHING');
      });
      const lax = await runDoctor({ sourceUrl: other.url, warehouseSchema: 'star', capture: { ...capture, replicaIdentityFull: false } });
      expect(checkOf(lax, 'source.replica_identity')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^design, payment: no primary key/) });
      expect(lax.ok).toBe(false);
      // A superuser capture sets FULL itself: fine.
      const full = await runDoctor({ sourceUrl: other.url, warehouseSchema: 'star', capture });
      expect(statusOf(full, 'source.replica_identity')).toBe('ok');
      expect(full.ok).toBe(true);
    } finally {
      await other.drop();
    }
  });

  it('warehouse: missing rights, pending and unknown migrations', async () => {
    const wh = await createTestDatabase('ops_doctor_wh');
    const loader = `t_doctor_loader_${suffix}`;
    try {
      await withAdmin((c) => c.query(`CREATE ROLE ${loader} WITH LOGIN PASSWORD '${password}'`));
      await withClient(wh.url, (c) => c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`));
      const asLoader = urlAs(wh.url, loader, password);
      const denied = await runDoctor({ warehouseUrl: asLoader, warehouseSchema: 'star', capture });
      expect(checkOf(denied, 'warehouse.schema')).toMatchObject({ status: 'fail', fix: expect.stringContaining(`GRANT CREATE ON DATABASE "${wh.name}" TO "${loader}";`) });

      await withClient(wh.url, async (c) => {
        await c.query(`CREATE SCHEMA star AUTHORIZATION ${loader}`);
        await c.query('CREATE TABLE star.schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        await c.query(`ALTER TABLE star.schema_version OWNER TO ${loader}`);
        await c.query(`INSERT INTO star.schema_version (version, description) VALUES (1, 'first')`);
      });
      const pending = await runDoctor({ warehouseUrl: asLoader, warehouseSchema: 'star', capture });
      expect(statusOf(pending, 'warehouse.schema')).toBe('ok');
      expect(statusOf(pending, 'warehouse.rebuild')).toBe('warn');
      expect(checkOf(pending, 'warehouse.migrations')).toMatchObject({ status: LATEST_SCHEMA_VERSION > 1 ? 'warn' : 'ok' });
      expect(checkOf(pending, 'warehouse.key-checks')).toMatchObject({ status: 'warn', fix: expect.stringContaining(`GRANT SET ON PARAMETER session_replication_role TO "${loader}";`) });
      expect(pending.ok).toBe(true);
      // The printed fix works: the loader may then check foreign keys set-based.
      await withAdmin((c) => c.query(`GRANT SET ON PARAMETER session_replication_role TO ${loader}`));
      expect(statusOf(await runDoctor({ warehouseUrl: asLoader, warehouseSchema: 'star', capture }), 'warehouse.key-checks')).toBe('ok');
      await withAdmin((c) => c.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${loader}`));

      await withClient(wh.url, (c) => c.query(`INSERT INTO star.schema_version (version, description) VALUES ($1, 'from the future')`, [LATEST_SCHEMA_VERSION + 1]));
      const newer = await runDoctor({ warehouseUrl: asLoader, warehouseSchema: 'star', capture });
      expect(checkOf(newer, 'warehouse.migrations')).toMatchObject({ status: 'fail', summary: expect.stringContaining(`newer than this totesys-cdc knows (${LATEST_SCHEMA_VERSION})`) });
    } finally {
      await wh.drop();
      await withAdmin((c) => c.query(`DROP ROLE IF EXISTS ${loader}`));
    }
  });

  it('an unreachable database is a failed check, not a crash, and the password never shows', async () => {
    const result = await runCli(['doctor', '--source-url', 'postgresql://u:hunter2secret@127.0.0.1:9/x', '--warehouse-url', 'postgresql://u:hunter2secret@127.0.0.1:9/y', '--state-dir', stateDir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}source\.connect/);
    expect(result.stdout).toMatch(/FAIL {2}warehouse\.connect/);
    expect(result.stdout + result.stderr).not.toContain('hunter2secret');
  }, 120_000);
});

describe('doctor against a cluster with wal_level=replica', () => {
  let root: string;
  let server: RunningPostgres;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'doctor-replica-'));
    const settings = { wal_level: 'replica', max_replication_slots: 0, fsync: 'off' };
    server = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), logger: createLogger({ service: 'test', level: 'warn' }), settings });
    await ensureDatabase(server.url('postgres'), 'totesys');
    await createTotesysSchema(server.url('totesys'));
  });
  afterAll(async () => {
    await server?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('fails wal_level and replication slots with ALTER SYSTEM fixes that work', async () => {
    const report = await runDoctor({ sourceUrl: server.url('totesys'), warehouseUrl: server.url('totesys'), warehouseSchema: 'star', capture });
    expect(checkOf(report, 'source.wal_level')).toMatchObject({ status: 'fail', summary: 'wal_level is replica; logical decoding needs wal_level=logical', fix: expect.stringContaining("ALTER SYSTEM SET wal_level = 'logical';") });
    expect(checkOf(report, 'source.replication_slots')).toMatchObject({ status: 'fail', fix: expect.stringContaining('ALTER SYSTEM SET max_replication_slots = 10;') });
    expect(statusOf(report, 'warehouse.schema')).toBe('ok');
    expect(statusOf(report, 'warehouse.key-checks')).toBe('ok');
    expect(report.ok).toBe(false);

    // Apply the printed fixes. They take effect at the next start; the embedded cluster is started with
    // -c flags (which win over ALTER SYSTEM), so check what the configuration files now say instead.
    await withClient(server.url('postgres'), async (c) => {
      for (const check of report.checks.filter((x) => x.status === 'fail')) {
        for (const line of check.fix!.split('\n').filter((l) => l.startsWith('ALTER SYSTEM'))) await c.query(line);
      }
      const { rows } = await c.query(`SELECT name, setting FROM pg_file_settings WHERE name IN ('wal_level', 'max_replication_slots') AND applied IS NOT NULL ORDER BY name`);
      expect(rows).toEqual([{ name: 'max_replication_slots', setting: '10' }, { name: 'wal_level', setting: 'logical' }]);
    });
    await server.stop();
    server = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), logger: createLogger({ service: 'test', level: 'warn' }), settings: { wal_level: 'logical', max_replication_slots: 10 } });
    const fixed = await runDoctor({ sourceUrl: server.url('totesys'), warehouseSchema: 'star', capture });
    expect(fixed.checks.filter((c) => c.status !== 'ok')).toEqual([]);
  });
});

describe('capture-user SQL', () => {
  it('covers the 11 tables and, on RDS, grants rds_replication instead of the REPLICATION attribute', () => {
    const rds = captureUserSql({ platform: 'rds' });
    expect(rds).toContain('GRANT rds_replication TO "totesys_cdc_capture";');
    expect(rds).not.toContain('REPLICATION;');
    for (const table of SOURCE_TABLES) expect(rds).toContain(`ALTER TABLE "public"."${table}" REPLICA IDENTITY FULL;`);
  });
});
