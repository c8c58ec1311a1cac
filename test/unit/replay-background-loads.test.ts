import { describe, expect, it } from 'vitest';
import { BackgroundLoads } from '../../replay/process/background-loads.js';

/** A load that finishes only when the test says so, recording the order loads started in. */
function controlledLoads() {
  const started: string[] = [];
  const finishers = new Map<string, (rows: number) => void>();
  const failers = new Map<string, (error: Error) => void>();
  const load = (key: string) =>
    new Promise<number>((resolve, reject) => {
      started.push(key);
      finishers.set(key, resolve);
      failers.set(key, reject);
    });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { started, load, finish: (key: string, rows = 1) => finishers.get(key)!(rows), fail: (key: string, error: Error) => failers.get(key)!(error), settle };
}

describe('BackgroundLoads', () => {
  it('loads one manifest at a time, in the order added, and counts rows', async () => {
    const c = controlledLoads();
    const loads = new BackgroundLoads(10);
    await loads.add('a', () => c.load('a'));
    await loads.add('b', () => c.load('b'));
    await c.settle();
    expect(c.started).toEqual(['a']); // b waits for a
    c.finish('a', 3);
    await c.settle();
    expect(c.started).toEqual(['a', 'b']);
    c.finish('b', 4);
    expect(await loads.drain()).toEqual({ rowsLoaded: 7, loaded: 2 });
  });

  it('makes the producer wait while maxPending manifests are queued', async () => {
    const c = controlledLoads();
    const loads = new BackgroundLoads(2);
    await loads.add('a', () => c.load('a'));
    await loads.add('b', () => c.load('b'));
    let thirdAdded = false;
    const third = loads.add('c', () => c.load('c')).then(() => (thirdAdded = true));
    await c.settle();
    expect(thirdAdded).toBe(false);
    c.finish('a');
    await third;
    expect(thirdAdded).toBe(true);
    c.finish('b');
    await c.settle();
    c.finish('c');
    expect((await loads.drain()).loaded).toBe(3);
  });

  it('stops at the first failure: later manifests are not loaded, add and drain reject with it', async () => {
    const c = controlledLoads();
    const loads = new BackgroundLoads(1);
    await loads.add('a', () => c.load('a'));
    const waiting = loads.add('b', () => c.load('b'));
    await c.settle();
    c.fail('a', new Error('disk on fire'));
    await expect(waiting).rejects.toThrow('disk on fire');
    await expect(loads.add('c', () => c.load('c'))).rejects.toThrow('disk on fire');
    await expect(loads.drain()).rejects.toThrow('disk on fire');
    expect(loads.failedManifest).toBe('a');
    expect(c.started).toEqual(['a']);
  });
});
