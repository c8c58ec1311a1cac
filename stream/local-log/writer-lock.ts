import fs from 'node:fs/promises';
import type { Logger } from '../../platform/logger.js';
import { StreamLockedError } from '../stream-errors.js';
import { isProcessAlive } from '../../platform/process-alive.js';

/**
 * Exactly one writer process per log: the lock file is created exclusively and holds the
 * writer's pid. A lock left by a process that no longer exists (kill -9) is taken over; a lock of a
 * live process (including this one: a second writer in the same process) is refused.
 * Known limit: two processes taking over the same stale lock at the same instant can race; `up`
 * holds its own instance lock, so this only matters for hand-run tools.
 */
export class WriterLock {
  private constructor(
    readonly file: string,
    private readonly token: string,
  ) {}

  static async acquire(file: string, logger: Logger): Promise<WriterLock> {
    const token = JSON.stringify({ pid: process.pid, acquiredAt: new Date().toISOString() }) + '\n';
    for (let attempt = 0; attempt < 3; attempt++) {
      // Write the pid to a temp file, then hard-link it into place: link(2) fails with EEXIST like
      // O_EXCL, and the lock file never exists without its content.
      const temp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temp, token);
      try {
        await fs.link(temp, file);
        return new WriterLock(file, token);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await fs.rm(temp, { force: true });
      }
      const ownerPid = await readOwnerPid(file);
      if (ownerPid !== undefined && isProcessAlive(ownerPid)) throw new StreamLockedError(file, ownerPid);
      logger.warn('taking over a stale stream writer lock', { lockFile: file, stalePid: ownerPid ?? null });
      await fs.rm(file, { force: true });
    }
    throw new StreamLockedError(file, (await readOwnerPid(file)) ?? -1);
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    try {
      if ((await fs.readFile(this.file, 'utf8')) === this.token) await fs.rm(this.file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

async function readOwnerPid(file: string): Promise<number | undefined> {
  try {
    const pid = (JSON.parse(await fs.readFile(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    // Missing, or half-written by a writer killed while creating it: treat as stale.
    return undefined;
  }
}

