import type { Config } from '../platform/config.js';
import { LazyS3ObjectStore } from './lazy-s3-object-store.js';
import { LocalDirObjectStore } from './local-dir-object-store.js';
import { describableAdapters, type DescribedObjectStore, type ObjectStore, type ObjectStoreDescription } from './object-store.js';

export type BucketName = 'ingestion' | 'processed';

/**
 * The one place that chooses the bucket adapter: a directory under the state dir, or S3. The S3
 * adapter loads the AWS SDK at its first call (lazy-s3-object-store.ts): the local path, and every
 * process's start-up, never loads it.
 */
export function createObjectStore(config: Readonly<Config>, which: BucketName): ObjectStore {
  const buckets = config.buckets;
  if (buckets.kind === 'local') return new LocalDirObjectStore(which === 'ingestion' ? config.paths.ingestionDir : config.paths.processedDir);
  const bucket = which === 'ingestion' ? buckets.ingestionBucket : buckets.processedBucket;
  return new LazyS3ObjectStore({ kind: 's3', bucket, region: buckets.region, endpoint: buckets.endpoint });
}

/**
 * The description of a store another thread can re-create with objectStoreFrom, or null (a wrapper
 * or test double: whoever needs the same store then stays on this thread).
 */
export function describeObjectStore(store: ObjectStore): ObjectStoreDescription | null {
  // Exactly the adapters' own instances: a subclass or a wrapper made with Object.create (tests) may
  // change what the store does, which a description would lose.
  if (describableAdapters.has(Object.getPrototypeOf(store) as object)) return (store as DescribedObjectStore).description;
  return null;
}
