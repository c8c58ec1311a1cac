import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeObjectStore } from '../../bucket/create-object-store.js';
import { objectStoreFrom } from '../../bucket/object-store-from.js';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { S3ObjectStore, createS3Client } from '../../bucket/s3-object-store.js';

/** Stores described to another thread (replay's processing lanes) re-open the same bucket; others stay put. */
describe('object store descriptions', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('a local store round-trips: the re-created store sees what the original wrote', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'store-description-'));
    dirs.push(root);
    const store = new LocalDirObjectStore(root);
    const description = describeObjectStore(store);
    expect(description).toEqual({ kind: 'local', root });
    const again = await objectStoreFrom(structuredClone(description!));
    await store.put('a/b.txt', 'hello');
    expect(Buffer.from(await again.get('a/b.txt')).toString()).toBe('hello');
    expect(again.location).toBe(store.location);
  });

  it('an S3 store is described only when it knows how its client was made', async () => {
    const client = { region: 'eu-west-2', endpoint: 'http://127.0.0.1:4569' };
    const described = new S3ObjectStore(createS3Client(client), 'processed', { prefix: 'p/', client });
    expect(describeObjectStore(described)).toEqual({ kind: 's3', bucket: 'processed', prefix: 'p/', region: 'eu-west-2', endpoint: 'http://127.0.0.1:4569' });
    const again = await objectStoreFrom(describeObjectStore(described)!);
    expect(again).toBeInstanceOf(S3ObjectStore);
    expect(again.location).toBe(described.location);
    expect(describeObjectStore(new S3ObjectStore(createS3Client(client), 'processed'))).toBeNull();
  });

  it('wrappers and subclasses are not described (their behaviour would be lost on another thread)', () => {
    const store = new LocalDirObjectStore(os.tmpdir());
    class Recording extends LocalDirObjectStore {}
    expect(describeObjectStore(new Recording(os.tmpdir()))).toBeNull();
    expect(describeObjectStore(Object.create(store) as LocalDirObjectStore)).toBeNull();
    expect(describeObjectStore({ ...store, location: 'x' } as unknown as LocalDirObjectStore)).toBeNull();
  });
});
