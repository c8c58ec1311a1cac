import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

const live = new Set<ChildProcess>();
process.once('exit', () => killCaptureChildren());

/** Kills every capture child still running (tests call it in afterAll, before dropping their database). */
export function killCaptureChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * Spawns test/support/capture-child.ts (or `entry`, e.g. capture/main.ts) as a real process
 * (node --import tsx, so the pid is node's own). Children still running when the test file ends
 * (a failed test never stops its child) are killed then: a live capture would hold its walsender
 * and keep Postgres from shutting down at the end of the run.
 * Debugging: DEBUG_CHILD_LOG=<dir> runs the children at debug level and keeps each one's log in
 * <dir>/<pid>.log.
 */
export function spawnCaptureChild(
  env: Record<string, string>,
  entry = 'test/support/capture-child.ts',
): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const logDir = process.env.DEBUG_CHILD_LOG;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, TOTESYS_LOG_LEVEL: 'warn', ...env, ...(logDir ? { TOTESYS_LOG_LEVEL: 'debug' } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  if (logDir) child.stderr!.pipe(fs.createWriteStream(path.join(logDir, `${child.pid}.log`)));
  live.add(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (live.delete(child), resolve(code))));
  return { child, stderr: () => stderr, exited };
}

/** Peak resident memory of a live process in bytes (VmHWM), or null when it is gone. */
export function peakRssBytes(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
