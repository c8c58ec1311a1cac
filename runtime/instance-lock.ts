import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../platform/errors.js';
import { isProcessAlive } from '../platform/process-alive.js';
import { writeFileAtomic } from '../platform/atomic-file.js';

/**
 * The state directory belongs to one `up` (or one stand-alone command) at a time. The lock file
 * holds the owner's pid and, once Postgres runs, its port, so other commands can attach to the
 * running embedded Postgres instead of starting a second one on the same data directory.
 */
export interface LockInfo {
  pid: number;
  command: string;
  startedAt: string;
  postgresPort?: number;
}

export interface InstanceLock {
  update(info: Partial<LockInfo>): Promise<void>;
  release(): Promise<void>;
}

export class AlreadyRunningError extends UserError {
  constructor(readonly holder: LockInfo, lockFile: string) {
    super(`another totesys-cdc ${holder.command} (pid ${holder.pid}, since ${holder.startedAt}) is already running on this state directory (${path.dirname(lockFile)}); stop it first or use --state-dir`);
  }
}

export async function readLiveLock(lockFile: string): Promise<LockInfo | undefined> {
  return liveHolder(await readLock(lockFile));
}

function liveHolder(found: Awaited<ReturnType<typeof readLock>>): LockInfo | undefined {
  return found.state === 'held' && isProcessAlive(found.info.pid) ? found.info : undefined;
}

/**
 * A lock file we cannot parse is only taken for debris when it is old: this code never writes a
 * partial lock (it links a complete file into place), but an older version did, and a partial file
 * seen for a moment while its writer is alive must not be removed from under it.
 */
const UNREADABLE_LOCK_GRACE_MS = 10_000;

type LockFileState = { state: 'absent' } | { state: 'held'; info: LockInfo } | { state: 'unreadable'; ageMs: number };

async function readLock(lockFile: string): Promise<LockFileState> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([fs.readFile(lockFile, 'utf8'), fs.stat(lockFile)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw error;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    if (Number.isInteger(info.pid)) return { state: 'held', info };
  } catch {
    // fall through: not a lock we can read
  }
  return { state: 'unreadable', ageMs: Date.now() - mtimeMs };
}

/** Commands that hold the lock only for seconds: a starting `up` waits for them instead of failing. */
const SHORT_COMMANDS = new Set(['status', 'load', 'seed', 'teardown']);

export async function acquireInstanceLock(lockFile: string, command: string, options: { waitForShortHoldersMs?: number } = {}): Promise<InstanceLock> {
  await fs.mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  let info: LockInfo = { pid: process.pid, command, startedAt: new Date().toISOString() };
  const waitUntil = Date.now() + (options.waitForShortHoldersMs ?? 30_000);
  for (let attempt = 0; attempt < 1_000; attempt++) {
    if (await createLockFile(lockFile, info)) {
      let released = false;
      return {
        async update(more) {
          info = { ...info, ...more };
          await writeFileAtomic(lockFile, JSON.stringify(info), { durable: false, mode: 0o600 });
        },
        async release() {
          if (released) return;
          released = true;
          await fs.rm(lockFile, { force: true });
        },
      };
    }
    const found = await readLock(lockFile);
    if (found.state === 'absent') continue;
    if (found.state === 'unreadable' && found.ageMs < UNREADABLE_LOCK_GRACE_MS) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const holder = liveHolder(found);
    if (holder && SHORT_COMMANDS.has(holder.command) && Date.now() < waitUntil) {
      await new Promise((r) => setTimeout(r, 250)); // e.g. a `status` that started its own Postgres
      continue;
    }
    if (holder) throw new AlreadyRunningError(holder, lockFile);
    await fs.rm(lockFile, { force: true }); // left by a killed process
  }
  throw new UserError(`could not take the lock ${lockFile}`);
}

/**
 * Creates the lock file with its content in one step: the content goes to a private temporary file
 * that is then hard-linked into place (link fails if the lock exists). With open('wx') followed by
 * a write, a racing command could read the still-empty lock, take it for debris and remove it: then
 * two commands each started a Postgres on the same data directory.
 */
async function createLockFile(lockFile: string, info: LockInfo): Promise<boolean> {
  const temporary = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(temporary, JSON.stringify(info), { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temporary, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(temporary, { force: true });
  }
}
