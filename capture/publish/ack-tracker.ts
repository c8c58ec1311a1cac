import type { Lsn } from '../../contracts/lsn.js';

/**
 * Decides which WAL position may be confirmed to Postgres. Pure bookkeeping, no I/O.
 *
 * Terms: every event handed to the publisher gets a sequence number (0, 1, 2, ... in WAL order). A
 * *milestone* is a WAL flush position F (Postgres' `confirmed_flush_lsn` semantics: everything
 * before F is handled) that becomes true once all events registered before it are durable: the
 * end of a commit, a heartbeat message seen outside a transaction, or an idle keepalive.
 *
 * Invariants (checked by test/unit/capture-ack-tracker.test.ts with fast-check; 1 is the spec's D1,
 * 2 its D2, see docs/capture-spec.md):
 * 1. confirmable() never exceeds a milestone whose preceding events are not all durable.
 * 2. confirmable() never decreases.
 * 3. Once every registered event is durable, confirmable() equals the highest milestone.
 * 4. Memory is bounded by the number of milestones not yet reached (older ones are dropped).
 */
export class AckTracker {
  private nextSeq = 0;
  /** Every event with seq < durableBelow is durable. */
  private durableBelow = 0;
  /** Pending milestones, ascending in both fields: events before `seqBound` must be durable. */
  private pending: { seqBound: number; flushLsn: Lsn }[] = [];
  private confirmed: Lsn;
  private highestMilestone: Lsn;

  constructor(startLsn: Lsn = 0n) {
    this.confirmed = startLsn;
    this.highestMilestone = startLsn;
  }

  /** Registers the next event (in WAL order) and returns its sequence number. */
  register(): number {
    return this.nextSeq++;
  }

  /** Registers `count` events at once; returns the first sequence number. */
  registerMany(count: number): number {
    const first = this.nextSeq;
    this.nextSeq += count;
    return first;
  }

  /** A flush position reached once every event registered so far is durable. Lower ones are ignored. */
  milestone(flushLsn: Lsn): void {
    if (flushLsn <= this.highestMilestone) return;
    this.highestMilestone = flushLsn;
    const last = this.pending[this.pending.length - 1];
    if (last && last.seqBound === this.nextSeq) last.flushLsn = flushLsn;
    else this.pending.push({ seqBound: this.nextSeq, flushLsn });
    this.advance();
  }

  /** Every event with a sequence number below `seqBound` is durable (monotone; lower calls ignored). */
  durableUpTo(seqBound: number): void {
    if (seqBound > this.nextSeq) throw new RangeError(`durable bound ${seqBound} beyond registered events ${this.nextSeq}`);
    if (seqBound <= this.durableBelow) return;
    this.durableBelow = seqBound;
    this.advance();
  }

  confirmable(): Lsn {
    return this.confirmed;
  }

  /** Events registered but not yet durable. */
  inFlight(): number {
    return this.nextSeq - this.durableBelow;
  }

  registered(): number {
    return this.nextSeq;
  }

  private advance(): void {
    let i = 0;
    while (i < this.pending.length && this.pending[i].seqBound <= this.durableBelow) {
      if (this.pending[i].flushLsn > this.confirmed) this.confirmed = this.pending[i].flushLsn;
      i++;
    }
    if (i > 0) this.pending.splice(0, i);
  }
}
