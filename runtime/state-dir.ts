import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../platform/errors.js';

/**
 * The state directory (embedded Postgres, stream log, raw archive, processed files, logs) holds
 * account numbers and the database password: it is private to the user who runs totesys-cdc (0700
 * directories, 0600 files; the CLI also sets umask 077 so everything created below stays so).
 *
 * A marker file says "totesys-cdc created this directory". It is written when the directory is
 * initialised: a new or empty directory, or one whose entries are all names totesys-cdc creates
 * (a state directory from before the marker). `teardown --purge` deletes only a marked directory,
 * so a mistyped `--state-dir` never deletes someone else's files.
 */
export const STATE_MARKER = '.totesys-cdc-state';

/** Entries totesys-cdc creates at the top of a state directory. */
const OWN_ENTRIES = new Set([
  STATE_MARKER,
  'postgres',
  'postgres.password',
  'stream',
  'buckets',
  'processor-state',
  'up.lock',
  'logs',
  'capture-status.json',
  'kinesis-checkpoints',
]);

/** Directories below a state directory that are not ours to chmod (Postgres manages its own data dir). */
const FOREIGN_SUBTREES = new Set(['postgres']);

async function isMarkedStateDir(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(path.join(dir, STATE_MARKER))).isFile();
  } catch {
    return false;
  }
}

/**
 * Creates or adopts `dir` as a state directory and makes it private. Returns true when it carries
 * the marker afterwards. A non-empty directory holding anything totesys-cdc does not create is used
 * as before but NOT marked (and so never purged), and its permissions are left alone.
 */
export async function prepareStateDir(dir: string): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (await isMarkedStateDir(dir)) {
    await makeTopPrivate(dir);
    return true;
  }
  const entries = await fs.readdir(dir);
  if (!entries.every((name) => OWN_ENTRIES.has(name) || name.startsWith('up.lock.') || name.startsWith('.initdb-password-'))) return false;
  // Ours (new, empty, or an earlier version's state): make what is already there private, once.
  await makePrivate(dir, true);
  await fs.writeFile(path.join(dir, STATE_MARKER), JSON.stringify({ createdBy: 'totesys-cdc', createdAt: new Date().toISOString() }) + '\n', { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return true;
}

/**
 * The state directory itself is 0700, or 0710 when running as root: the embedded Postgres runs as the
 * `postgres` OS user, and startEmbeddedPostgres gives that user's group passage (group x only) to reach
 * its data directory. Every command prepares the state directory, also while `up` runs, so taking that
 * passage away here would lock a running or starting Postgres out of its own data directory.
 */
async function makeTopPrivate(dir: string): Promise<void> {
  const mode = (await fs.stat(dir)).mode & 0o7777;
  if (mode !== 0o700 && mode !== 0o710) await fs.chmod(dir, 0o700);
}

/** chmod go-rwx on a tree we own (Postgres's data directory excepted: it keeps its own modes). */
async function makePrivate(dir: string, top: boolean): Promise<void> {
  if (top) await makeTopPrivate(dir);
  else await fs.chmod(dir, 0o700);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (top && FOREIGN_SUBTREES.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await makePrivate(full, false);
    else if (entry.isFile()) {
      const { mode } = await fs.stat(full);
      if (mode & 0o077) await fs.chmod(full, mode & 0o700);
    }
  }
}

/** Refuses to purge a directory that does not carry the marker, with what to do instead. */
export async function assertPurgeable(dir: string): Promise<void> {
  if (await isMarkedStateDir(dir)) return;
  const exists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
  if (!exists) return;
  throw new UserError(
    `refusing to delete ${dir}: it does not carry the totesys-cdc state marker (${STATE_MARKER}), so it may not be a ` +
      `totesys-cdc state directory. If it is one (created before the marker existed), check its contents and delete it ` +
      `yourself (rm -r ${JSON.stringify(dir)}); a command run on it (e.g. status) marks it when it holds only totesys-cdc's own entries. Otherwise check --state-dir.`,
  );
}
