import type { Config } from '../core/config.js';
import { LocalDirObjectStore } from './local-dir-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, createS3Client } from './s3-object-store.js';

export type BucketName = 'ingestion' | 'processed';

/** The one place that chooses the bucket adapter: a directory under the state dir, or S3. */
export function createObjectStore(config: Readonly<Config>, which: BucketName): ObjectStore {
  const buckets = config.buckets;
  if (buckets.kind === 'local') return new LocalDirObjectStore(which === 'ingestion' ? config.paths.ingestionDir : config.paths.processedDir);
  const client = createS3Client({ region: buckets.region, endpoint: buckets.endpoint });
  return new S3ObjectStore(client, which === 'ingestion' ? buckets.ingestionBucket : buckets.processedBucket);
}
