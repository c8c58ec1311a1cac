import { describe, expect, it } from 'vitest';
import { ManifestWake } from '../../loader/manifest-wake.js';

describe('ManifestWake', () => {
  it('a wait ends at the next notice, true', async () => {
    const wake = new ManifestWake();
    const waiting = wake.wait(wake.generation, 10_000);
    wake.notify();
    expect(await waiting).toBe(true);
  });

  it('a notice since the given generation ends a wait at once (the race between listing and waiting)', async () => {
    const wake = new ManifestWake();
    const seen = wake.generation;
    wake.notify();
    const started = Date.now();
    expect(await wake.wait(seen, 10_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('ends false after the delay or when the signal aborts, and leaves no listener behind', async () => {
    const wake = new ManifestWake();
    expect(await wake.wait(wake.generation, 10)).toBe(false);
    const controller = new AbortController();
    const waiting = wake.wait(wake.generation, 10_000, controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    let calls = 0;
    const unsubscribe = wake.subscribe(() => calls++);
    wake.notify();
    unsubscribe();
    wake.notify();
    expect(calls).toBe(1);
    expect((wake as unknown as { listeners: Set<unknown> }).listeners.size).toBe(0);
  });
});
