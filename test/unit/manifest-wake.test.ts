import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { ManifestWake, notifyingManifestPuts } from '../../loader/manifest-wake.js';

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

  it('keysSince: the keys of the notices since a generation, in order; none when one named no key or is no longer remembered', () => {
    const wake = new ManifestWake();
    const start = wake.generation;
    wake.notify('manifests/a.json');
    wake.notify('manifests/b.json');
    expect(wake.keysSince(start)).toEqual(['manifests/a.json', 'manifests/b.json']);
    expect(wake.keysSince(wake.generation)).toEqual([]);
    const beforeKeyless = wake.generation;
    wake.notify();
    wake.notify('manifests/c.json');
    expect(wake.keysSince(beforeKeyless)).toBeUndefined(); // a notice without a key: list the bucket
    expect(wake.keysSince(beforeKeyless + 1)).toEqual(['manifests/c.json']);
    const old = wake.generation;
    for (let i = 0; i < 2_000; i++) wake.notify(`manifests/${i}.json`);
    expect(wake.keysSince(old)).toBeUndefined(); // more than it remembers
    expect(wake.keysSince(wake.generation - 2)).toEqual(['manifests/1998.json', 'manifests/1999.json']);
  });

  it('notifyingManifestPuts: a notice once each manifest is durable in the bucket (not for Parquet files or other objects)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wake-store-'));
    try {
      const wake = new ManifestWake();
      const store = notifyingManifestPuts(new LocalDirObjectStore(dir), wake);
      const manifestKey = 'manifests/date=2026-12-07/20261207T101500123Z-abc.json';
      const seenOnNotice: boolean[] = [];
      wake.subscribe(() => seenOnNotice.push(existsSync(path.join(dir, ...manifestKey.split('/')))));
      await store.put('fact_sales_order/date=2026-12-07/abc.parquet', 'parquet');
      await store.put('quarantine/date=2026-12-07/x.json', '{}');
      expect(wake.generation).toBe(0);
      await store.put(manifestKey, '{}');
      expect(wake.generation).toBe(1);
      expect(seenOnNotice).toEqual([true]); // the manifest was on disk when the loader was told
      expect(wake.keysSince(0)).toEqual([manifestKey]); // and told its key
      expect(new TextDecoder().decode(await store.get(manifestKey))).toBe('{}');
      expect(store.location).toBe(new LocalDirObjectStore(dir).location);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
