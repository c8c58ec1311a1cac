import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlreadyRunningError, acquireInstanceLock, readLiveLock } from '../../runtime/instance-lock.js';

describe('instance lock of a state directory', () => {
  let dir: string;
  let lockFile: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lock-'));
    lockFile = path.join(dir, 'up.lock');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('lets one holder in, tells a second who holds it, and frees on release', async () => {
    const lock = await acquireInstanceLock(lockFile, 'up');
    await lock.update({ postgresPort: 5555 });
    expect(await readLiveLock(lockFile)).toMatchObject({ pid: process.pid, command: 'up', postgresPort: 5555 });
    await expect(acquireInstanceLock(lockFile, 'up')).rejects.toBeInstanceOf(AlreadyRunningError);
    await lock.release();
    await (await acquireInstanceLock(lockFile, 'up')).release();
  });

  it('takes over a lock left by a killed process', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    await fs.writeFile(lockFile, JSON.stringify({ pid: deadPid, command: 'up', startedAt: new Date().toISOString() }));
    expect(await readLiveLock(lockFile)).toBeUndefined();
    await (await acquireInstanceLock(lockFile, 'up')).release();
  });

  it('waits for a short-lived command (status) instead of failing, but not for an up', async () => {
    const status = await acquireInstanceLock(lockFile, 'status');
    setTimeout(() => void status.release(), 300);
    const started = Date.now();
    const up = await acquireInstanceLock(lockFile, 'up', { waitForShortHoldersMs: 5_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await expect(acquireInstanceLock(lockFile, 'sync', { waitForShortHoldersMs: 5_000 })).rejects.toThrow(/another totesys-cdc up/);
    await up.release();
  });

  // A `status` and a starting `up` racing for the lock: a holder whose lock file existed but was
  // still empty was taken for a killed one, its file removed, and both started Postgres on one data
  // directory (the second start stopped the first one's postmaster: the cli-up flake).
  it('lets exactly one of many concurrent acquirers in', async () => {
    for (let round = 0; round < 20; round++) {
      const attempts = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => acquireInstanceLock(lockFile, i === 0 ? 'up' : 'sync', { waitForShortHoldersMs: 0 })));
      const won = attempts.filter((a): a is PromiseFulfilledResult<Awaited<ReturnType<typeof acquireInstanceLock>>> => a.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const a of attempts) if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(AlreadyRunningError);
      await won[0]!.value.release();
    }
  });

  it('does not take a fresh unreadable lock file for debris, but removes an old one', async () => {
    await fs.writeFile(lockFile, '');
    const waited = acquireInstanceLock(lockFile, 'up', { waitForShortHoldersMs: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await fs.readFile(lockFile, 'utf8')).toBe(''); // still there: its writer may be alive
    await fs.rm(lockFile);
    await (await waited).release();

    await fs.writeFile(lockFile, '{"pi');
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lockFile, old, old);
    await (await acquireInstanceLock(lockFile, 'up', { waitForShortHoldersMs: 0 })).release();
  });
});
