import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../platform/process-alive.js';

describe('isProcessAlive', () => {
  it('counts a live process as alive and a gone one as not', async () => {
    const child = spawn('sleep', ['5']);
    try {
      expect(isProcessAlive(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
    }
    expect(isProcessAlive(child.pid!)).toBe(false);
  });

  // A container whose pid 1 never reaps orphans keeps their exits as zombies: the locks such a
  // process held (stream writer, instance lock) must count as stale, or the next run is refused.
  it.runIf(process.platform === 'linux')('counts a zombie (exited, never reaped) as not alive', async () => {
    // sh starts a short sleep in the background, prints its pid, then becomes `sleep 5`, which never
    // waits for it: the short sleep exits into a zombie that stays while its parent sleeps.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number((await new Promise<Buffer>((resolve) => parent.stdout!.once('data', resolve))).toString().trim());
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(() => process.kill(zombie, 0)).not.toThrow(); // the pid still exists...
      expect(isProcessAlive(zombie)).toBe(false); // ...but the process has finished
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
