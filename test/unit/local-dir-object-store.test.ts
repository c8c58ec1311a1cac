import fs from 'node:fs/promises';
import nodeFs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { ObjectNotFoundError } from '../../bucket/object-store.js';
import { useTempObjectStore } from '../support/temp-object-store.js';

describe('LocalDirObjectStore', () => {
  const tmp = useTempObjectStore('objstore-');

  it('stores, reads and deletes objects under S3-style keys', async () => {
    await tmp.store.put('a/b/c.txt', 'hello');
    expect(new TextDecoder().decode(await tmp.store.get('a/b/c.txt'))).toBe('hello');
    expect(await tmp.store.exists('a/b/c.txt')).toBe(true);
    await tmp.store.delete('a/b/c.txt');
    await expect(tmp.store.get('a/b/c.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('lists in S3 key order, by prefix, after a start key', async () => {
    for (const key of ['m/x-2', 'm/x-1', 'm-a', 'm/y/z', 'n/1', 'm/x-10']) await tmp.store.put(key, key);
    const keys = async (prefix: string, startAfter?: string) => {
      const out: string[] = [];
      for await (const o of tmp.store.list(prefix, { startAfter })) out.push(o.key);
      return out;
    };
    expect(await keys('m')).toEqual(['m-a', 'm/x-1', 'm/x-10', 'm/x-2', 'm/y/z']);
    expect(await keys('m/x')).toEqual(['m/x-1', 'm/x-10', 'm/x-2']);
    expect(await keys('m/', 'm/x-10')).toEqual(['m/x-2', 'm/y/z']);
    expect(await keys('zzz')).toEqual([]);
  });

  it('lists keys without a stat per object, reading a size only when asked (the loader lists keys only)', async () => {
    for (let i = 0; i < 20; i++) await tmp.store.put(`manifests/date=2026-12-07/k${String(i).padStart(2, '0')}.json`, 'x'.repeat(i));
    const stat = vi.spyOn(fs, 'stat');
    const statSync = vi.spyOn(nodeFs, 'statSync');
    try {
      const listed = [];
      for await (const o of tmp.store.list('manifests/', { startAfter: 'manifests/date=2026-12-07/k09.json' })) listed.push(o);
      expect(listed.map((o) => o.key)).toEqual(Array.from({ length: 10 }, (_, i) => `manifests/date=2026-12-07/k${i + 10}.json`));
      expect(stat.mock.calls.length + statSync.mock.calls.length).toBe(0);
      expect(listed.map((o) => o.size)).toEqual(Array.from({ length: 10 }, (_, i) => i + 10));
    } finally {
      stat.mockRestore();
      statSync.mockRestore();
    }
  });

  it('refuses keys that would escape the bucket', async () => {
    await expect(tmp.store.put('../evil', 'x')).rejects.toThrow(/invalid object key/);
    await expect(tmp.store.put('a//b', 'x')).rejects.toThrow(/invalid object key/);
  });
});
