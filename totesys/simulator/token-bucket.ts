/**
 * A token bucket: `ratePerSecond` tokens accrue continuously up to `burst`. It starts with one
 * token, so a run of D seconds makes about rate × D changes (plus one), never a startup burst.
 * Pure: the caller passes the current time, which keeps it testable and clock-agnostic.
 */
export class TokenBucket {
  private tokens = 1;
  private lastMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    this.lastMs = nowMs;
  }

  private refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(Math.max(1, this.burst), this.tokens + (elapsed * this.ratePerSecond) / 1000);
    this.lastMs = nowMs;
  }

  /** Takes a token and returns 0, or returns how many ms to wait before one is available. */
  tryTake(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
