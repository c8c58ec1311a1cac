import type { Config } from '../platform/config.js';
import { LocalDirObjectStore } from './local-dir-object-store.js';
import type { ObjectStore, ObjectStoreDescription } from './object-store.js';
import { S3ObjectStore, createS3Client } from './s3-object-store.js';

export type BucketName = 'ingestion' | 'processed';

/** The one place that chooses the bucket adapter: a directory under the state dir, or S3. */
export function createObjectStore(config: Readonly<Config>, which: BucketName): ObjectStore {
  const buckets = config.buckets;
  if (buckets.kind === 'local') return new LocalDirObjectStore(which === 'ingestion' ? config.paths.ingestionDir : config.paths.processedDir);
  const client = { region: buckets.region, endpoint: buckets.endpoint };
  return new S3ObjectStore(createS3Client(client), which === 'ingestion' ? buckets.ingestionBucket : buckets.processedBucket, { client });
}

/**
 * The description of a store another thread can re-create with objectStoreFrom, or null (a wrapper
 * or test double: whoever needs the same store then stays on this thread).
 */
export function describeObjectStore(store: ObjectStore): ObjectStoreDescription | null {
  // Exactly these classes' instances: a subclass or a wrapper made with Object.create (tests) may
  // change what the store does, which a description would lose.
  const prototype: unknown = Object.getPrototypeOf(store);
  if (prototype === LocalDirObjectStore.prototype || prototype === S3ObjectStore.prototype) return (store as LocalDirObjectStore | S3ObjectStore).description;
  return null;
}
