import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { createObjectStore, describeObjectStore } from '../../bucket/create-object-store.js';
import { LazyS3ObjectStore } from '../../bucket/lazy-s3-object-store.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { ObjectNotFoundError, type ObjectStore } from '../../bucket/object-store.js';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';

interface StoreHarness {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A fresh, empty store for one test. */
  fresh(): Promise<ObjectStore>;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function keysOf(store: ObjectStore, prefix: string, startAfter?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix, { startAfter })) out.push(o.key);
  return out;
}

function objectStoreContract(harness: StoreHarness): void {
  describe(`object store contract: ${harness.name}`, () => {
    let store: ObjectStore;
    beforeAll(() => harness.start());
    afterAll(() => harness.stop());
    beforeEach(async () => {
      store = await harness.fresh();
    });

    it('stores, reads and deletes objects under S3-style keys', async () => {
      await store.put('a/b/c.txt', 'hello');
      expect(text(await store.get('a/b/c.txt'))).toBe('hello');
      expect(await store.exists('a/b/c.txt')).toBe(true);
      expect(await store.exists('a/b/missing.txt')).toBe(false);
      await store.put('a/b/c.txt', 'replaced');
      expect(text(await store.get('a/b/c.txt'))).toBe('replaced');
      await store.delete('a/b/c.txt');
      expect(await store.exists('a/b/c.txt')).toBe(false);
      await store.delete('a/b/c.txt'); // deleting a missing key is not an error (S3 semantics)
    });

    it('lists in S3 key order, by prefix, after a start key', async () => {
      for (const key of ['m/x-2', 'm/x-1', 'm-a', 'm/y/z', 'n/1', 'm/x-10']) await store.put(key, key);
      expect(await keysOf(store, 'm')).toEqual(['m-a', 'm/x-1', 'm/x-10', 'm/x-2', 'm/y/z']);
      expect(await keysOf(store, 'm/x')).toEqual(['m/x-1', 'm/x-10', 'm/x-2']);
      expect(await keysOf(store, 'm/', 'm/x-10')).toEqual(['m/x-2', 'm/y/z']);
      expect(await keysOf(store, 'zzz')).toEqual([]);
      const sizes: number[] = [];
      for await (const o of store.list('n/')) sizes.push(o.size);
      expect(sizes).toEqual([3]);
    });

    it('refuses keys that would escape the bucket', async () => {
      await expect(store.put('../evil', 'x')).rejects.toThrow(/invalid object key/);
      await expect(store.put('a//b', 'x')).rejects.toThrow(/invalid object key/);
    });

    it('round-trips binary bodies and a 5 MB object byte for byte', async () => {
      const binary = new Uint8Array(256).map((_, i) => i);
      await store.put('bin/all-bytes', binary);
      expect(Buffer.from(await store.get('bin/all-bytes')).equals(Buffer.from(binary))).toBe(true);
      const large = randomBytes(5 * 1024 * 1024);
      await store.put('bin/large.parquet', large);
      expect(Buffer.from(await store.get('bin/large.parquet')).equals(large)).toBe(true);
      const [info] = await keysOf(store, 'bin/large').then(async () => {
        const out = [];
        for await (const o of store.list('bin/large')) out.push(o);
        return out;
      });
      expect(info).toEqual({ key: 'bin/large.parquet', size: large.length });
    });

    it('throws ObjectNotFoundError (permanent) for a missing key', async () => {
      const error = await store.get('nope/nothing').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectNotFoundError);
      expect(error).toMatchObject({ key: 'nope/nothing', retryable: false });
    });
  });
}

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'object-store-contract-'));
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

objectStoreContract({
  name: 'local directory',
  start: async () => undefined,
  stop: async () => undefined,
  fresh: async () => new LocalDirObjectStore(await fs.mkdtemp(path.join(root, 'dir-'))),
});

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

/** s3rver with one bucket per test, `bucket-1` on: createObjectStore's stores have no key prefix. */
function s3rverHarness(name: string, fresh: (s3: { client: S3Client; endpoint: string }, bucket: string) => ObjectStore): StoreHarness {
  let s3: { server: S3rverInstance; client: S3Client; endpoint: string; directory: string } | undefined;
  let buckets = 0;
  return {
    name,
    async start() {
      const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverInstance;
      const directory = await fs.mkdtemp(path.join(os.tmpdir(), 's3rver-'));
      // Port 0: the kernel picks it as s3rver listens (no window for another process to take it).
      const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
      const { port } = await server.run();
      const endpoint = `http://127.0.0.1:${port}`;
      s3 = { server, client: createS3Client({ region: 'eu-west-2', endpoint }), endpoint, directory };
    },
    async stop() {
      s3?.client.destroy();
      await s3?.server.close();
      if (s3) await fs.rm(s3.directory, { recursive: true, force: true });
    },
    async fresh() {
      const bucket = `bucket-${++buckets}`;
      await s3!.client.send(new CreateBucketCommand({ Bucket: bucket }));
      return fresh(s3!, bucket);
    },
  };
}

// The adapter itself (a fresh key prefix in each bucket exercises the prefix option), and the store
// createObjectStore makes for S3, which loads the adapter and the SDK at its first call.
objectStoreContract(s3rverHarness('s3 (s3rver)', (s3, bucket) => new S3ObjectStore(s3.client, bucket, { prefix: 'p' })));
objectStoreContract(
  s3rverHarness('s3 (s3rver) from createObjectStore', (s3, bucket) =>
    createObjectStore(loadConfig({ stateDir: root, buckets: 's3', processedBucket: bucket, s3Endpoint: s3.endpoint }, {}), 'processed'),
  ),
);

describe('createObjectStore', () => {
  it('chooses the directory or the S3 bucket from configuration', () => {
    const local = loadConfig({ stateDir: root }, {});
    const ingestion = createObjectStore(local, 'ingestion');
    expect(ingestion).toBeInstanceOf(LocalDirObjectStore);
    expect(ingestion.location).toContain('buckets/ingestion');
    const remote = loadConfig({ stateDir: root, buckets: 's3', processedBucket: 'my-processed', s3Endpoint: 'http://127.0.0.1:9' }, {});
    const processed = createObjectStore(remote, 'processed');
    // The S3 adapter behind it loads at the first call (the contract above runs it against s3rver).
    expect(processed).toBeInstanceOf(LazyS3ObjectStore);
    expect(processed.location).toBe('s3://my-processed/');
    expect(describeObjectStore(processed)).toEqual({ kind: 's3', bucket: 'my-processed', region: 'eu-west-2', endpoint: 'http://127.0.0.1:9' });
  });
});
