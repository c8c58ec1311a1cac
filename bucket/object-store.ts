/**
 * The bucket port (S3 in AWS, a directory locally). Keys use `/` separators and the same layout in
 * both adapters, so a person can browse either the same way.
 */
export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** A description for logs, e.g. `s3://bucket/prefix` or `file:///…/processed`. */
  readonly location: string;
  /** Stores an object durably (local: written to a temp file, fsynced, renamed). */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Throws ObjectNotFoundError when the key does not exist. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Every object under `prefix`, in lexicographic key order, optionally only keys after `startAfter`. */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
}

/**
 * What another thread (a replay processing lane) needs to open the same bucket: plain data, so it
 * can be posted to a worker. Only adapters that know how they were made have one.
 */
export type ObjectStoreDescription = { kind: 'local'; root: string } | { kind: 's3'; bucket: string; prefix?: string; region: string; endpoint?: string };

export interface DescribedObjectStore extends ObjectStore {
  readonly description: ObjectStoreDescription | null;
}

/**
 * The prototypes of the adapters whose instances describeObjectStore may describe: each adapter's
 * module adds its own when it loads, so describing needs no static import of the S3 adapter (and
 * the AWS SDK); no S3 store can exist before its module has loaded.
 */
export const describableAdapters = new Set<object>();

export class ObjectNotFoundError extends Error {
  readonly retryable = false;
  constructor(
    readonly key: string,
    readonly location: string,
  ) {
    super(`object not found: ${key} in ${location}`);
    this.name = 'ObjectNotFoundError';
  }
}
