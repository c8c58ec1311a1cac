import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../platform/errors.js';
import { isProcessAlive } from '../platform/process-alive.js';

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
  let info: LockInfo;
  try {
    info = JSON.parse(await fs.readFile(lockFile, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
  return isProcessAlive(info.pid) ? info : undefined;
}

/** Commands that hold the lock only for seconds: a starting `up` waits for them instead of failing. */
const SHORT_COMMANDS = new Set(['status', 'load', 'seed', 'teardown']);

export async function acquireInstanceLock(lockFile: string, command: string, options: { waitForShortHoldersMs?: number } = {}): Promise<InstanceLock> {
  await fs.mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  let info: LockInfo = { pid: process.pid, command, startedAt: new Date().toISOString() };
  const waitUntil = Date.now() + (options.waitForShortHoldersMs ?? 30_000);
  for (let attempt = 0; attempt < 1_000; attempt++) {
    try {
      const handle = await fs.open(lockFile, 'wx', 0o600);
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      let released = false;
      return {
        async update(more) {
          info = { ...info, ...more };
          const temp = `${lockFile}.${process.pid}.tmp`;
          await fs.writeFile(temp, JSON.stringify(info), { mode: 0o600 });
          await fs.rename(temp, lockFile);
        },
        async release() {
          if (released) return;
          released = true;
          await fs.rm(lockFile, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readLiveLock(lockFile);
      if (holder && SHORT_COMMANDS.has(holder.command) && Date.now() < waitUntil) {
        await new Promise((r) => setTimeout(r, 250)); // e.g. a `status` that started its own Postgres
        continue;
      }
      if (holder) throw new AlreadyRunningError(holder, lockFile);
      await fs.rm(lockFile, { force: true }); // left by a killed process
    }
  }
  throw new UserError(`could not take the lock ${lockFile}`);
}

