import { describableAdapters, type DescribedObjectStore, type ObjectInfo, type ObjectStore, type ObjectStoreDescription } from './object-store.js';
import { s3Location } from './s3-location.js';

type S3Description = Extract<ObjectStoreDescription, { kind: 's3' }>;

/**
 * An S3 bucket whose adapter (s3-object-store.ts), and with it the AWS SDK, is loaded at the first
 * call rather than when the store is made. createObjectStore is synchronous and imported by every
 * process (the CLI, `sync`, the processor worker); importing the S3 adapter there cost each of them
 * about 0.3 s of start-up on the local path, which never calls S3. Calls behave as the adapter's:
 * same keys, errors and listing order; a failed load (no SDK installed) rejects the call that
 * triggered it and is tried again at the next.
 */
export class LazyS3ObjectStore implements DescribedObjectStore {
  readonly location: string;
  private loading: Promise<ObjectStore> | undefined;

  constructor(readonly description: S3Description) {
    this.location = s3Location(description.bucket, description.prefix);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    return (await this.store()).put(key, body);
  }

  async get(key: string): Promise<Uint8Array> {
    return (await this.store()).get(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.store()).exists(key);
  }

  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    yield* (await this.store()).list(prefix, options);
  }

  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }

  private store(): Promise<ObjectStore> {
    this.loading ??= openS3ObjectStore(this.description).catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }
}

/** The S3 adapter for a description, loading the SDK (the one dynamic import of it in bucket/). */
export async function openS3ObjectStore(description: S3Description): Promise<ObjectStore> {
  const { S3ObjectStore, createS3Client } = await import('./s3-object-store.js');
  const client = { region: description.region, endpoint: description.endpoint };
  return new S3ObjectStore(createS3Client(client), description.bucket, { prefix: description.prefix, client });
}

describableAdapters.add(LazyS3ObjectStore.prototype);
