import type { ObjectInfo, ObjectStore } from '../../bucket/object-store.js';

/**
 * Wraps a real ObjectStore: records the order of puts and can be told to fail puts (an unavailable
 * bucket) so tests check "manifest last" and retry behaviour without mocking the bucket itself.
 */
export class RecordingObjectStore implements ObjectStore {
  readonly puts: string[] = [];
  /** When set, a put whose key matches throws this (retryable) error. */
  failPuts: RegExp | undefined;

  constructor(readonly inner: ObjectStore) {}

  get location(): string {
    return this.inner.location;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    if (this.failPuts?.test(key)) throw Object.assign(new Error(`bucket unavailable for ${key}`), { code: 'ECONNREFUSED' });
    await this.inner.put(key, body);
    this.puts.push(key);
  }

  get(key: string): Promise<Uint8Array> {
    return this.inner.get(key);
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

export async function listKeys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}
