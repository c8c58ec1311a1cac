import type { ObjectInfo, ObjectStore } from '../../bucket/object-store.js';
import { isManifestKey, manifestTimeOfKey } from '../../contracts/manifest-layout.js';

/**
 * The processed bucket as a draining loader reads it, with the S3 round trips of new manifests
 * taken together: the loader reads a pending manifest, then its Parquet files, one manifest after
 * another (two round trips each, run-loader.ts reads one ahead), so a poll that finds four new
 * manifests waits for about eight S3 round trips before its transaction starts. This wrapper starts
 * the GETs as soon as a listing yields a fresh manifest key (written at most `freshWithinMs` before
 * the invocation started, so a run's first full listing over 15 minutes does not fetch what the
 * previous run loaded): the manifest, and once it has arrived, its files, all concurrently. The
 * loader's own get() of such a key then takes the fetch in flight (once; a later get() reads
 * again), so it sees exactly the bytes, or the error, S3 returned: checksums, bounds and failure
 * handling are unchanged. Objects in this bucket are written once and never changed, so a fetch
 * started early returns what a later one would.
 *
 * Bounded: at most `maxEntries` fetches are kept (a listing beyond that is not prefetched), one not
 * taken within `maxAgeMs` (a manifest the ledger already has) is dropped, and a manifest key is
 * prefetched once per invocation (a drain's polls list the last seconds again and again).
 */
export interface PrefetchOptions {
  /** Keys of manifests written before this instant (epoch ms) are not prefetched. */
  freshSinceMs: number;
  maxEntries?: number;
  maxAgeMs?: number;
  now?: () => number;
}

export function prefetchingStore(store: ObjectStore, options: PrefetchOptions): ObjectStore & { readonly prefetched: number } {
  const maxEntries = options.maxEntries ?? 256;
  const maxAgeMs = options.maxAgeMs ?? 30_000;
  const now = options.now ?? Date.now;
  const inFlight = new Map<string, { body: Promise<Uint8Array>; startedMs: number }>();
  // Manifest keys prefetched once: a drain's polls list the last seconds again and again. Bounded by
  // the manifests written during one invocation (the store lives for one run; only keys written
  // since it started are prefetched).
  const seen = new Set<string>();
  let prefetched = 0;

  const start = (key: string): Promise<Uint8Array> | undefined => {
    if (inFlight.has(key) || inFlight.size >= maxEntries) return undefined;
    const body = store.get(key);
    body.catch(() => undefined); // handed to the loader's get(), which sees the error; never unhandled
    inFlight.set(key, { body, startedMs: now() });
    prefetched++;
    return body;
  };
  const prefetchManifest = (key: string) => {
    if (seen.has(key)) return;
    const body = start(key);
    if (body) seen.add(key);
    if (!body) return;
    void body.then(
      (bytes) => {
        let files: { key?: unknown }[] = [];
        try {
          files = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { files?: { key?: unknown }[] }).files ?? [];
        } catch {
          return; // the loader's own read reports a bad manifest
        }
        for (const file of Array.isArray(files) ? files : []) if (typeof file?.key === 'string') void start(file.key);
      },
      () => undefined,
    );
  };
  const dropStale = () => {
    const oldest = now() - maxAgeMs;
    for (const [key, entry] of inFlight) if (entry.startedMs < oldest) inFlight.delete(key);
  };

  return {
    get location() {
      return store.location;
    },
    get prefetched() {
      return prefetched;
    },
    put: (key, body) => store.put(key, body),
    exists: (key) => store.exists(key),
    delete: (key) => store.delete(key),
    get(key) {
      const entry = inFlight.get(key);
      if (!entry) return store.get(key);
      inFlight.delete(key);
      return entry.body;
    },
    async *list(prefix, listOptions): AsyncIterable<ObjectInfo> {
      dropStale();
      for await (const object of store.list(prefix, listOptions)) {
        if (isManifestKey(object.key) && manifestTimeOfKey(object.key) >= options.freshSinceMs) prefetchManifest(object.key);
        yield object;
      }
    },
  };
}
