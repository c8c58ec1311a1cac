/**
 * Loads manifests one after another, in the order they were added, while the caller goes on
 * producing the next ones: the processor (this process's CPU) and the loader (mostly Postgres's)
 * overlap. At most `maxPending` manifests wait, so a slow loader slows the producer instead of
 * letting the backlog grow. The first failure stops loading; `add` and `drain` then reject with it.
 */
export class BackgroundLoads {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure: { error: unknown; manifestKey: string } | null = null;
  private readonly waiting: (() => void)[] = [];
  rowsLoaded = 0;
  loaded = 0;

  constructor(private readonly maxPending = 4) {}

  /**
   * Queues the load of one manifest (`load` resolves to the rows it loaded); waits while
   * `maxPending` are queued. Rejects once a load has failed.
   */
  async add(manifestKey: string, load: () => Promise<number>): Promise<void> {
    while (!this.failure && this.pending >= this.maxPending) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.throwIfFailed();
    this.pending++;
    this.tail = this.tail.then(async () => {
      try {
        if (this.failure) return;
        const rows = await load();
        this.rowsLoaded += rows;
        this.loaded++;
      } catch (error) {
        this.failure ??= { error, manifestKey };
      } finally {
        this.pending--;
        // A failure wakes every producer (they reject); otherwise one slot opened.
        for (const wake of this.failure ? this.waiting.splice(0) : this.waiting.splice(0, 1)) wake();
      }
    });
  }

  /** Resolves when every queued manifest is loaded; rejects with the first failure. */
  async drain(): Promise<{ rowsLoaded: number; loaded: number }> {
    await this.tail;
    this.throwIfFailed();
    return { rowsLoaded: this.rowsLoaded, loaded: this.loaded };
  }

  /** The manifest whose load failed, if any. */
  get failedManifest(): string | null {
    return this.failure?.manifestKey ?? null;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
