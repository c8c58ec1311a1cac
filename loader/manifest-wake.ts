import type { DescribedObjectStore, ObjectStore } from '../bucket/object-store.js';
import { manifestTimeOfKey } from '../contracts/manifest-layout.js';

/**
 * "A manifest was written": an in-process signal from a processor to a loader in the same process
 * (`up`), so the loader looks for new manifests at once instead of at its next tick or poll. Only
 * a hint: the loader still lists the bucket and checks the ledger (what it loads and exactly-once
 * do not depend on it), and its schedule still runs, so a missed notice costs latency, never data.
 * A generation count closes the race between "listed, found nothing" and "start waiting": a wait
 * that starts after a notice it has not seen returns at once. A notice may name the manifest's key
 * (keysSince): a draining loader then reads it without listing the bucket (a LIST of the day's
 * manifests took 19 ms at p50 and 89 ms at p99 at 1,000 changes/s), and still lists every poll
 * interval, so a manifest it was not told of waits at most that long.
 */
const RECENT_NOTICES = 1_024;

export class ManifestWake {
  private count = 0;
  private readonly listeners = new Set<(manifestKey?: string) => void>();
  /** The newest notices' keys (undefined: a notice that named none), the last at generation `count`. */
  private readonly recent: (string | undefined)[] = [];

  /** Notices so far; pass it to `wait` to wait for a later one. */
  get generation(): number {
    return this.count;
  }

  /** A manifest was written (its key when the notifier knows it: the loader then need not list the bucket to find it). */
  notify(manifestKey?: string): void {
    this.count++;
    this.recent.push(manifestKey);
    if (this.recent.length > RECENT_NOTICES) this.recent.shift();
    for (const listener of [...this.listeners]) listener(manifestKey);
  }

  /**
   * The keys of the notices after `sinceGeneration`, in notice order; undefined when one of them
   * named no key or is no longer remembered (more than RECENT_NOTICES since): then only a listing
   * finds every manifest written meanwhile.
   */
  keysSince(sinceGeneration: number): string[] | undefined {
    const missed = this.count - Math.max(0, sinceGeneration);
    if (missed <= 0) return [];
    if (missed > this.recent.length) return undefined;
    const keys = this.recent.slice(this.recent.length - missed);
    return keys.every((key): key is string => key !== undefined) ? keys : undefined;
  }

  /** Calls `listener` on every notice until the returned function is called. */
  subscribe(listener: (manifestKey?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves at the first notice after `sinceGeneration` (at once if there was one already), after
   * `ms`, or when `signal` aborts, whichever comes first; true when a notice ended the wait.
   */
  wait(sinceGeneration: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.count > sinceGeneration) return Promise.resolve(true);
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      const done = (woken: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', aborted);
        resolve(woken);
      };
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      const unsubscribe = this.subscribe(() => done(true));
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

/**
 * `store` with a notice on `wake` as soon as each manifest put is durable: the processor's commit
 * point, the moment a batch becomes loadable. Earlier than a notice after the batch (which comes
 * after the processor's checkpoints, one durable file per shard): the loader does not depend on
 * them, and a batch processed again after a crash has the same batchId, which the ledger loads once.
 */
export function notifyingManifestPuts(store: ObjectStore, wake: ManifestWake): DescribedObjectStore {
  return {
    location: store.location,
    description: (store as Partial<DescribedObjectStore>).description ?? null,
    put: async (key, body) => {
      await store.put(key, body);
      if (!Number.isNaN(manifestTimeOfKey(key))) wake.notify(key);
    },
    get: (key) => store.get(key),
    exists: (key) => store.exists(key),
    list: (prefix, options) => store.list(prefix, options),
    delete: (key) => store.delete(key),
  };
}
