import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { postgresBinary } from '../../runtime/postmaster-process.js';
import { freePort } from '../../runtime/free-port.js';

/**
 * A private Postgres cluster for tests that must restart or crash the server, or run another major
 * version than the shared embedded 17 (./global-setup.ts): initdb + pg_ctl from a bin directory
 * (the embedded package's, or the machine's PostgreSQL 15 from `pg_config --bindir`). Postgres
 * refuses to run as root: when the tests are root (CI), every binary runs as the `postgres` OS user,
 * like runtime/embedded-postgres.ts does, and the cluster's directory is handed to that user.
 * Local connections are trusted (a throwaway cluster on 127.0.0.1, fixed port kept across restarts).
 */
export interface PostgresCluster {
  readonly port: number;
  /** e.g. 15 or 17, from PG_VERSION. */
  readonly majorVersion: number;
  readonly binDir: string;
  url(database: string): string;
  /** pg_ctl stop -m fast|immediate (immediate: SIGQUIT, crash recovery on the next start), then start again on the same port. */
  restart(mode: 'fast' | 'immediate', options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresClusterOptions {
  binDir: string;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

/** The embedded package's bin directory (Postgres 17). */
export async function embeddedBinDir(): Promise<string> {
  return path.dirname(await postgresBinary());
}

/**
 * The machine's PostgreSQL bin directory (`pg_config --bindir`, else Debian's /usr/lib/postgresql/15/bin)
 * when it holds initdb, pg_ctl and postgres; null otherwise (.ci/run installs Debian's postgresql-15).
 */
export function systemBinDir(): string | null {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
  } catch {
    // no pg_config on PATH
  }
  candidates.push('/usr/lib/postgresql/15/bin');
  return candidates.find((dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(path.join(dir, b)))) ?? null;
}

interface OsUser {
  uid: number;
  gid: number;
}

function postgresOsUser(): OsUser | null {
  if (os.userInfo().uid !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

const CHILD_ENV = { PATH: '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };

function run(binary: string, args: string[], user: OsUser | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...(user ?? {}), env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${path.basename(binary)} ${args.join(' ')} failed (${code}): ${output.trim().slice(-2000)}`))));
  });
}

export async function startPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const { binDir } = options;
  const user = postgresOsUser();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pg-cluster-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'postgres.log');
  if (user) await fs.chown(root, user.uid, user.gid);
  await run(path.join(binDir, 'initdb'), [`--pgdata=${dataDir}`, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--lc-messages=C', '--no-instructions'], user);
  const majorVersion = Number((await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim());
  const settings = (port: number): Record<string, string | number> => ({
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    wal_level: 'logical',
    max_replication_slots: 16,
    max_wal_senders: 16,
    max_connections: 100,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...options.settings,
  });
  let port = 0;
  let postgresOptions = '';
  const pgCtl = path.join(binDir, 'pg_ctl');
  const start = () => run(pgCtl, ['-D', dataDir, '-l', logFile, '-o', postgresOptions, '-w', '-t', '60', 'start'], user);
  const stopWith = (mode: 'fast' | 'immediate') => run(pgCtl, ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], user);
  // pg_ctl's postmaster is not our child: stop it if the test process ends without stop().
  const onExit = () => {
    try {
      execFileSync(pgCtl, ['-D', dataDir, '-m', 'immediate', 'stop'], { ...(user ?? {}), env: CHILD_ENV, stdio: 'ignore' });
    } catch {
      // already stopped
    }
  };
  // The port freePort hands out is bound only when the postmaster starts; another process may take
  // it in between (runtime/embedded-postgres.ts has the same retry): pick another and start again.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    postgresOptions = Object.entries(settings(port))
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    try {
      await start();
      break;
    } catch (error) {
      const log = await fs.readFile(logFile, 'utf8').catch(() => '');
      if (attempt >= 5 || !/could not bind|Address already in use/.test(log)) throw error;
      await fs.rm(logFile, { force: true });
    }
  }
  process.on('exit', onExit);
  let stopped = false;
  return {
    port,
    majorVersion,
    binDir,
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async restart(mode, restartOptions = {}) {
      await stopWith(mode);
      if (restartOptions.downMs) await new Promise((r) => setTimeout(r, restartOptions.downMs));
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await stopWith('immediate').catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** CREATE DATABASE through a throwaway connection. */
export async function createClusterDatabase(cluster: PostgresCluster, name: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: cluster.url('postgres') });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return cluster.url(name);
}
