import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../runtime/stage-thread.js';

/**
 * A stage worker's node options (stage-thread.ts: the processor's, sync's archiver's): inherited,
 * except under a fixed --cpu-prof-name, which the worker gets with its stage's suffix (its profile was overwritten by the
 * main thread's) and nothing else (a V8 flag given explicitly makes the Worker constructor throw).
 */
describe('stage worker exec argv', () => {
  it('inherits (undefined) without a fixed profile name, whatever else the parent has', () => {
    expect(workerExecArgv([], 'processor')).toBeUndefined();
    expect(workerExecArgv(['--trace-gc', '--max-semi-space-size=64'], 'processor')).toBeUndefined();
    expect(workerExecArgv(['--cpu-prof', '--cpu-prof-dir', '/tmp/p'], 'processor')).toBeUndefined(); // names are per thread already
  });

  it('gives the worker the profile options alone, its name suffixed, in both spellings', () => {
    expect(workerExecArgv(['--trace-gc', '--cpu-prof', '--cpu-prof-dir', '/tmp/p', '--cpu-prof-name', 'sync-catchup.cpuprofile', '--expose-gc'], 'processor')).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir',
      '/tmp/p',
      '--cpu-prof-name',
      'sync-catchup-processor.cpuprofile',
    ]);
    expect(workerExecArgv(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--cpu-prof-name=run', '--cpu-prof-interval', '500'], 'processor')).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p', '--cpu-prof-name=run-processor', '--cpu-prof-interval', '500']);
    // Each stage its own name: sync's archiver thread beside the processor's.
    expect(workerExecArgv(['--cpu-prof', '--cpu-prof-name=sync-first.cpuprofile'], 'archiver')).toEqual(['--cpu-prof', '--cpu-prof-name=sync-first-archiver.cpuprofile']);
  });
});
