import fs from 'node:fs';
import path from 'node:path';

/**
 * "Something was appended to a shard": inotify (fs.watch) on the shards' directories, so a reader
 * waiting for records wakes when the writer (another process: `up`'s capture child; another thread
 * or this one: `sync`'s capture) appends, instead of at its next poll. Only a hint, never what a
 * read relies on: the waiting reader still polls every poll interval, so a lost event, a watch that
 * could not be set up (no inotify, its limit reached, a directory not made yet) or one that failed
 * costs at most a poll interval, as before. A generation count closes the race between "read,
 * found nothing" and "start waiting": a wait that starts after an event it has not seen returns at once.
 */
export class AppendWatch {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  /** Watches of the nearest existing ancestor of a directory not made yet (a shard's first append makes it). */
  private readonly ancestorWatchers = new Map<string, fs.FSWatcher>();
  private readonly waiters = new Set<() => void>();
  private events = 0;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private eventsAtLastAttempt = -1;
  private closed = false;

  constructor(
    private readonly dirs: readonly string[],
    /** How often directories not watched yet are tried again (default 1 s). */
    private readonly retryMs = 1_000,
  ) {}

  /** Events so far; pass it to `wait` to wait for a later one. */
  get generation(): number {
    return this.events;
  }

  /** True once every directory is watched (tests; a fallback is silent by design). */
  get watching(): boolean {
    return this.watchers.size === this.dirs.length;
  }

  /**
   * Resolves at the first event after `sinceGeneration` (at once if there was one already), after
   * `ms`, or when `signal` aborts, whichever comes first.
   */
  wait(sinceGeneration: number, ms: number, signal?: AbortSignal): Promise<void> {
    this.watchMissing();
    if (this.events > sinceGeneration || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    for (const watcher of [...this.watchers.values(), ...this.ancestorWatchers.values()]) watcher.close();
    this.watchers.clear();
    this.ancestorWatchers.clear();
    for (const done of [...this.waiters]) done();
  }

  private changed(): void {
    this.events++;
    for (const done of [...this.waiters]) done();
  }

  /**
   * Watches the directories not watched yet: at most once a retryMs, and again after any event (a
   * missing directory's ancestor is watched, so its creation is an event).
   */
  private watchMissing(): void {
    if (this.closed || this.watching) return;
    const now = performance.now();
    if (now - this.lastAttemptMs < this.retryMs && this.events === this.eventsAtLastAttempt) return;
    this.lastAttemptMs = now;
    let added = false;
    for (const dir of this.dirs) {
      if (this.watchers.has(dir)) continue;
      if (this.watchInto(this.watchers, dir)) added = true;
      else {
        const ancestor = nearestExisting(dir);
        if (ancestor && !this.ancestorWatchers.has(ancestor)) this.watchInto(this.ancestorWatchers, ancestor);
      }
    }
    // An append made before a new watch was set up raised no event: count one, so the waiting
    // read looks again at once instead of at its next poll.
    if (added) this.events++;
    this.eventsAtLastAttempt = this.events;
    if (this.watching) {
      for (const watcher of this.ancestorWatchers.values()) watcher.close();
      this.ancestorWatchers.clear();
    }
  }

  private watchInto(into: Map<string, fs.FSWatcher>, dir: string): boolean {
    try {
      // Not persistent: a watch never keeps the process (or the worker thread) alive.
      const watcher = fs.watch(dir, { persistent: false }, () => this.changed());
      watcher.on('error', () => {
        watcher.close();
        if (into.get(dir) === watcher) into.delete(dir);
      });
      into.set(dir, watcher);
      return true;
    } catch {
      // Not made yet, or no watch possible here: polling alone, tried again later.
      return false;
    }
  }
}

function nearestExisting(dir: string): string | undefined {
  for (let at = path.dirname(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(at)) return at;
    if (path.dirname(at) === at) return undefined;
  }
}
