import { describe, expect, it } from 'vitest';
import type { ObjectInfo, ObjectStore } from '../../bucket/object-store.js';
import { ObjectNotFoundError } from '../../bucket/object-store.js';
import { manifestKey } from '../../contracts/manifest-layout.js';
import { prefetchingStore } from '../../loader/lambda/prefetching-store.js';

/** An in-memory bucket that counts GETs per key; `gate` holds every GET until released. */
function countingBucket(objects: Record<string, string>) {
  const gets = new Map<string, number>();
  let failNext: string | undefined;
  const store: ObjectStore = {
    location: 'memory://processed',
    async put(key, body) {
      objects[key] = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    },
    async get(key) {
      gets.set(key, (gets.get(key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
      if (failNext === key) {
        failNext = undefined;
        throw new Error(`S3 is down for ${key}`);
      }
      if (!(key in objects)) throw new ObjectNotFoundError(key, 'memory://processed');
      return Buffer.from(objects[key]!);
    },
    async exists(key) {
      return key in objects;
    },
    async *list(prefix, options): AsyncIterable<ObjectInfo> {
      for (const key of Object.keys(objects).sort()) if (key.startsWith(prefix) && (!options?.startAfter || key > options.startAfter)) yield { key, size: objects[key]!.length };
    },
    async delete(key) {
      delete objects[key];
    },
  };
  return { store, gets, failOnce: (key: string) => (failNext = key) };
}

const NOW = Date.parse('2026-12-07T07:00:00.000Z');
const manifestAt = (ms: number, batchId: string, files: string[]) => ({ key: manifestKey('', new Date(ms).toISOString(), batchId), body: JSON.stringify({ batchId, files: files.map((key) => ({ key })) }) });
const drain = async (iterable: AsyncIterable<ObjectInfo>) => {
  const keys: string[] = [];
  for await (const o of iterable) keys.push(o.key);
  return keys;
};

describe('prefetchingStore (the draining loader Lambda\'s bucket reads)', () => {
  it('a listed fresh manifest and its files are fetched at once, concurrently; the loader\'s reads take those fetches (one GET each)', async () => {
    const fresh = manifestAt(NOW + 1_000, 'b1', ['processed/fact_sales_order/b1.parquet', 'processed/dim_date/b1.parquet']);
    const { store, gets } = countingBucket({ [fresh.key]: fresh.body, 'processed/fact_sales_order/b1.parquet': 'PAR1 fact', 'processed/dim_date/b1.parquet': 'PAR1 date' });
    const prefetching = prefetchingStore(store, { freshSinceMs: NOW, now: () => NOW + 2_000 });
    expect(await drain(prefetching.list('manifests/'))).toEqual([fresh.key]);
    // Started by the listing, before anyone asked.
    expect(gets.get(fresh.key)).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(gets.get('processed/fact_sales_order/b1.parquet')).toBe(1);
    expect(gets.get('processed/dim_date/b1.parquet')).toBe(1);
    // The loader's reads: the same bytes, no second GET.
    expect(Buffer.from(await prefetching.get(fresh.key)).toString()).toBe(fresh.body);
    expect(Buffer.from(await prefetching.get('processed/fact_sales_order/b1.parquet')).toString()).toBe('PAR1 fact');
    expect(gets.get(fresh.key)).toBe(1);
    expect(gets.get('processed/fact_sales_order/b1.parquet')).toBe(1);
    // Taken once: a later read goes to the bucket again.
    await prefetching.get(fresh.key);
    expect(gets.get(fresh.key)).toBe(2);
    // Listed again by the next poll: not fetched again.
    await drain(prefetching.list('manifests/'));
    expect(gets.get(fresh.key)).toBe(2);
    expect(prefetching.prefetched).toBe(3);
  });

  it('does not prefetch manifests written before the run (the previous run loaded them) nor other objects', async () => {
    const old = manifestAt(NOW - 60_000, 'b0', ['processed/fact_payment/b0.parquet']);
    const { store, gets } = countingBucket({ [old.key]: old.body, 'quarantine/x.json': '{}' });
    const prefetching = prefetchingStore(store, { freshSinceMs: NOW });
    await drain(prefetching.list(''));
    expect(gets.size).toBe(0);
    expect(prefetching.prefetched).toBe(0);
  });

  it('a failed prefetch reaches the loader as the same error, once; its next read fetches again', async () => {
    const fresh = manifestAt(NOW + 1_000, 'b2', []);
    const { store, gets, failOnce } = countingBucket({ [fresh.key]: fresh.body });
    failOnce(fresh.key);
    const prefetching = prefetchingStore(store, { freshSinceMs: NOW });
    await drain(prefetching.list('manifests/'));
    await expect(prefetching.get(fresh.key)).rejects.toThrow(/S3 is down/);
    expect(Buffer.from(await prefetching.get(fresh.key)).toString()).toBe(fresh.body);
    expect(gets.get(fresh.key)).toBe(2);
  });

  it('is bounded: at most maxEntries fetches kept; one not taken within maxAgeMs is dropped', async () => {
    const objects: Record<string, string> = {};
    const manifests = Array.from({ length: 5 }, (_, i) => manifestAt(NOW + i, `c${i}`, []));
    for (const m of manifests) objects[m.key] = m.body;
    const { store, gets } = countingBucket(objects);
    let clock = NOW;
    const prefetching = prefetchingStore(store, { freshSinceMs: NOW, maxEntries: 3, maxAgeMs: 1_000, now: () => clock });
    await drain(prefetching.list('manifests/'));
    expect(prefetching.prefetched).toBe(3);
    // Past maxAgeMs the untaken fetches are dropped at the next listing, and the remaining manifests are fetched.
    clock += 2_000;
    await drain(prefetching.list('manifests/'));
    expect(prefetching.prefetched).toBe(5);
    await prefetching.get(manifests[0]!.key);
    expect(gets.get(manifests[0]!.key)).toBe(2);
  });
});
