import fs from 'node:fs';

/**
 * True when a process with this pid exists and has not finished (EPERM: it exists but belongs to
 * another user). A zombie counts as finished: an orphan is reparented to pid 1, and in a container
 * whose pid 1 does not reap children its exit stays a zombie for good, which must not keep a lock
 * it held looking owned.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no procfs (macOS): kill(0) is all we can know
  }
  // "pid (comm) S ...": comm may itself hold ") ", so the state follows the last ")".
  return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
}
