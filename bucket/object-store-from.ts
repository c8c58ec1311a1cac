import { openS3ObjectStore } from './lazy-s3-object-store.js';
import { LocalDirObjectStore } from './local-dir-object-store.js';
import type { ObjectStore, ObjectStoreDescription } from './object-store.js';

/**
 * The store a description names (create-object-store.ts describes one), for another thread. The
 * S3 adapter, and with it the AWS SDK (a few hundred modules), is loaded only for an S3 store: a
 * rebuild's lanes writing to a local bucket start without it.
 */
export async function objectStoreFrom(description: ObjectStoreDescription): Promise<ObjectStore> {
  if (description.kind === 'local') return new LocalDirObjectStore(description.root);
  return openS3ObjectStore(description);
}
