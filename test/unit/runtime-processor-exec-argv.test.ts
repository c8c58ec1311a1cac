import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../runtime/processor-thread.js';

/**
 * The processor worker's node options (processor-thread.ts): inherited, except under a fixed
 * --cpu-prof-name, which the worker gets with its own suffix (its profile was overwritten by the
 * main thread's) and nothing else (a V8 flag given explicitly makes the Worker constructor throw).
 */
describe('processor worker exec argv', () => {
  it('inherits (undefined) without a fixed profile name, whatever else the parent has', () => {
    expect(workerExecArgv([])).toBeUndefined();
    expect(workerExecArgv(['--trace-gc', '--max-semi-space-size=64'])).toBeUndefined();
    expect(workerExecArgv(['--cpu-prof', '--cpu-prof-dir', '/tmp/p'])).toBeUndefined(); // names are per thread already
  });

  it('gives the worker the profile options alone, its name suffixed, in both spellings', () => {
    expect(workerExecArgv(['--trace-gc', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--cpu-prof-name', 'sync-catchup.cpuprofile', '--expose-gc'])).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir',
      '/tmp/p',
      '--cpu-prof-name',
      'sync-catchup-processor.cpuprofile',
    ]);
    expect(workerExecArgv(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--cpu-prof-name=run', '--cpu-prof-interval', '500'])).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--cpu-prof-name=run-processor', '--cpu-prof-interval', '500']);
  });
});
