import { spawn, spawnSync } from 'node:child_process';
import { watch } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { isProcessAlive } from '../../platform/process-alive.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../runtime/embedded-postgres.js';
import { prepareStateDir, STATE_MARKER } from '../../runtime/state-dir.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { waitFor } from '../support/wait-for.js';

/** Issue 17 points 6 to 11 (and 1's "postmaster stopped on every exit path"): what the runtime may touch. */
const isRoot = os.userInfo().uid === 0;
const mode = async (p: string) => (await fs.stat(p)).mode & 0o7777;
const settings = { fsync: 'off', synchronous_commit: 'off' };

/** Runs the statements in order on one connection; the rows of the last one. */
async function query<T = Record<string, unknown>>(url: string, ...statements: string[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: T[] = [];
    for (const sql of statements) rows = (await client.query(sql)).rows as T[];
    return rows;
  } finally {
    await client.end();
  }
}

describe('embedded Postgres: secrets, environment, permissions, signals', () => {
  let root: string;
  let dataDir: string;
  let privateTmp: string;
  let server: RunningPostgres | undefined;
  const createdInTmp: string[] = [];
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'security-runtime-'));
    dataDir = path.join(root, 'postgres');
    // A temp dir of our own, to see whether initdb's password lands there (the package used os.tmpdir()).
    privateTmp = await fs.mkdtemp(path.join(os.tmpdir(), 'security-tmp-'));
    await fs.chmod(privateTmp, 0o1777); // like the system temp dir
    process.env.TMPDIR = privateTmp;
    process.env.AWS_SECRET_ACCESS_KEY = 'leaked-aws-secret-17';
    process.env.TOTESYS_WAREHOUSE_URL_TEST_SECRET = 'postgresql://u:leaked-url-secret@x/y';
    // Everything created in the temp dir while initdb runs (the package wrote the password there, 0644).
    const watcher = watch(privateTmp, (_event, name) => void (name && createdInTmp.push(name)));
    try {
      server = await startEmbeddedPostgres({ dataDir, logger: silentLogger, settings });
    } finally {
      watcher.close();
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.TOTESYS_WAREHOUSE_URL_TEST_SECRET;
    }
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(privateTmp, { recursive: true, force: true });
  });

  it('6: the postmaster does not inherit the CLI environment (no AWS keys for COPY FROM PROGRAM env)', async () => {
    const rows = await query<{ line: string }>(server!.url('postgres'), 'CREATE TEMP TABLE e (line text)', "COPY e FROM PROGRAM 'env'", 'SELECT line FROM e');
    const env = rows.map((r) => r.line).join('\n');
    expect(env).toContain('LC_MESSAGES=C');
    expect(env).not.toContain('leaked-aws-secret-17');
    expect(env).not.toContain('leaked-url-secret');
    expect(env).not.toMatch(/^AWS_/m);
  });

  it('7: initdb wrote no password file to the temp dir, and left none in the state dir; the kept one is 0600', async () => {
    expect(createdInTmp).toEqual([]);
    expect(await fs.readdir(privateTmp)).toEqual([]);
    expect((await fs.readdir(root)).filter((name) => name.includes('initdb-password'))).toEqual([]);
    expect(await mode(`${dataDir}.password`)).toBe(0o600);
  });

  it('7: stale password files a killed start left (ours only) are removed at the next start', async () => {
    await server!.stop();
    const password = (await fs.readFile(`${dataDir}.password`, 'utf8')).trim();
    await fs.writeFile(path.join(root, '.initdb-password-deadbeef'), password, { mode: 0o600 });
    const oldCopy = path.join(os.tmpdir(), `pg-password-security-${process.pid}`);
    const notOurs = path.join(os.tmpdir(), `pg-password-security-other-${process.pid}`);
    await fs.writeFile(oldCopy, `${password}\n`);
    await fs.writeFile(notOurs, 'someone-else\n');
    try {
      server = await startEmbeddedPostgres({ dataDir, logger: silentLogger, settings });
      expect(await fs.readdir(root)).not.toContain('.initdb-password-deadbeef');
      await expect(fs.stat(oldCopy)).rejects.toThrow();
      expect(await fs.readFile(notOurs, 'utf8')).toBe('someone-else\n');
    } finally {
      await fs.rm(oldCopy, { force: true });
      await fs.rm(notOurs, { force: true });
    }
  }, 60_000);

  it.runIf(isRoot)('8/9: as root only the state directory is opened, to the postgres group (0710); /tmp is untouched', async () => {
    expect(await mode(root)).toBe(0o710);
    const owner = spawnSync('id', ['-g', 'postgres']).stdout.toString().trim();
    expect((await fs.stat(root)).gid).toBe(Number(owner));
    expect(await mode(os.tmpdir())).toBe(0o1777);
  });

  it.runIf(isRoot)('9: as root, an ancestor the postgres user cannot pass stops the start with what to change, and stays as it was', async () => {
    const outer = await fs.mkdtemp(path.join(os.tmpdir(), 'security-ancestor-'));
    try {
      const inner = path.join(outer, 'private');
      await fs.mkdir(inner, { mode: 0o700 });
      await fs.chmod(outer, 0o700);
      const error = await startEmbeddedPostgres({ dataDir: path.join(inner, 'state', 'postgres'), logger: silentLogger }).then(
        async (s) => (await s.stop(), null),
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(UserError);
      expect(error!.message).toContain(outer);
      expect(error!.message).toContain(inner);
      expect(error!.message).toMatch(/--state-dir|non-root|chmod o\+x/);
      expect(await mode(outer)).toBe(0o700);
      expect(await mode(inner)).toBe(0o700);
    } finally {
      await fs.rm(outer, { recursive: true, force: true });
    }
  }, 60_000);

  it('10: a stale postmaster.pid naming a live process that is not our Postgres: nothing is signalled, Postgres starts', async () => {
    await server!.stop();
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await fs.writeFile(path.join(dataDir, 'postmaster.pid'), `${bystander.pid}\n${dataDir}\n`);
      server = await startEmbeddedPostgres({ dataDir, logger: silentLogger, settings });
      await new Promise((r) => setTimeout(r, 300));
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      expect(isProcessAlive(bystander.pid!)).toBe(true);
      expect((await query<{ one: number }>(server.url('postgres'), 'SELECT 1 AS one'))[0]!.one).toBe(1);
    } finally {
      bystander.kill('SIGKILL');
    }
  }, 60_000);

  it('1: a process that exits without stopping its embedded Postgres takes the postmaster with it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'security-exit-'));
    try {
      const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/support/postmaster-exit-child.ts'), path.join(dir, 'postgres')], { cwd: REPO_ROOT, timeout: 90_000 });
      expect(child.status).toBe(3);
      const pid = Number(child.stdout.toString().trim());
      expect(pid).toBeGreaterThan(0);
      await waitFor(() => (isProcessAlive(pid) ? undefined : true), { timeoutMs: 20_000 });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('state directory: private, marked, purged only when marked', () => {
  it('8: an existing state directory from before the marker is made private and marked; a foreign one is left alone', async () => {
    const legacy = await fs.mkdtemp(path.join(os.tmpdir(), 'security-legacy-'));
    const foreign = await fs.mkdtemp(path.join(os.tmpdir(), 'security-foreign-'));
    try {
      await fs.mkdir(path.join(legacy, 'buckets', 'ingestion'), { recursive: true, mode: 0o755 });
      await fs.writeFile(path.join(legacy, 'buckets', 'ingestion', 'events.gz'), 'x', { mode: 0o644 });
      await fs.writeFile(path.join(legacy, 'up.lock'), '{}', { mode: 0o644 });
      await fs.chmod(legacy, 0o755);
      expect(await prepareStateDir(legacy)).toBe(true);
      expect(await mode(legacy)).toBe(0o700);
      expect(await mode(path.join(legacy, 'buckets', 'ingestion'))).toBe(0o700);
      expect(await mode(path.join(legacy, 'buckets', 'ingestion', 'events.gz'))).toBe(0o600);
      expect(await mode(path.join(legacy, 'up.lock'))).toBe(0o600);
      expect(await mode(path.join(legacy, STATE_MARKER))).toBe(0o600);
      // The group passage startEmbeddedPostgres grants the postgres OS user (root only) survives every
      // later command's preparation (a `status` while `up` runs must not lock Postgres out); anything
      // looser is made private again.
      await fs.chmod(legacy, 0o710);
      expect(await prepareStateDir(legacy)).toBe(true);
      expect(await mode(legacy)).toBe(0o710);
      await fs.chmod(legacy, 0o755);
      expect(await prepareStateDir(legacy)).toBe(true);
      expect(await mode(legacy)).toBe(0o700);

      await fs.writeFile(path.join(foreign, 'thesis.tex'), 'years of work', { mode: 0o644 });
      await fs.chmod(foreign, 0o755);
      expect(await prepareStateDir(foreign)).toBe(false);
      expect(await mode(foreign)).toBe(0o755);
      expect(await mode(path.join(foreign, 'thesis.tex'))).toBe(0o644);
    } finally {
      await fs.rm(legacy, { recursive: true, force: true });
      await fs.rm(foreign, { recursive: true, force: true });
    }
  });

  it('8/11: the CLI makes a new state directory private and marked; teardown --purge deletes only a marked directory', async () => {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'security-cli-'));
    await fs.chmod(parent, 0o755); // a parent the postgres OS user can pass (as root)
    const stateDir = path.join(parent, 'state');
    const notState = path.join(parent, 'documents');
    try {
      const status = await runCli(['status', '--json', '--state-dir', stateDir], { timeoutMs: 120_000 });
      expect(status.code, status.stderr).toBe(0);
      expect(await mode(stateDir)).toBe(isRoot ? 0o710 : 0o700);
      const loose: string[] = [];
      const walk = async (dir: string) => {
        for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if (full === path.join(stateDir, 'postgres')) continue; // Postgres's own (0700, its owner)
          if ((await mode(full)) & 0o077) loose.push(`${full} ${(await mode(full)).toString(8)}`);
          if (entry.isDirectory()) await walk(full);
        }
      };
      await walk(stateDir);
      expect(loose).toEqual([]);
      expect(await fs.readdir(stateDir)).toContain(STATE_MARKER);

      await fs.mkdir(notState);
      await fs.writeFile(path.join(notState, 'keep.txt'), 'mine');
      const refused = await runCli(['teardown', '--purge', '--yes', '--state-dir', notState]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/refusing to delete .*state marker/);
      expect(await fs.readFile(path.join(notState, 'keep.txt'), 'utf8')).toBe('mine');
      expect(await fs.readdir(notState)).toEqual(['keep.txt']); // nothing started in it either

      const purged = await runCli(['teardown', '--purge', '--yes', '--state-dir', stateDir], { timeoutMs: 120_000 });
      expect(purged.code, purged.stderr).toBe(0);
      await expect(fs.stat(stateDir)).rejects.toThrow();
    } finally {
      await fs.rm(parent, { recursive: true, force: true });
    }
  }, 300_000);
});
