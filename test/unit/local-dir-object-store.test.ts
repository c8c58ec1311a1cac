import { describe, expect, it } from 'vitest';
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

  it('refuses keys that would escape the bucket', async () => {
    await expect(tmp.store.put('../evil', 'x')).rejects.toThrow(/invalid object key/);
    await expect(tmp.store.put('a//b', 'x')).rejects.toThrow(/invalid object key/);
  });
});
