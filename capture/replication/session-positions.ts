import type { Lsn } from '../../contracts/lsn.js';
import { AckTracker } from '../publish/ack-tracker.js';

/**
 * The WAL positions of one replication session, pure: which transactions it publishes, which flush
 * position it may confirm, and whether it reached its stop LSN. The session feeds it in WAL order
 * (begin, milestones); the publisher feeds the tracker (register, durableUpTo).
 */
export interface SessionPositionsOptions {
  /** The slot's confirmed position when the session started (the previous session's end). */
  resumeFrom: Lsn;
  /** Bridge only: the new snapshot's start; nothing at or after it is published or confirmed. */
  skipFromLsn?: Lsn;
  /** `sync` and the bridge: the session ends once this position is confirmable. */
  stopAtLsn?: Lsn;
}

export class SessionPositions {
  readonly tracker: AckTracker;

  constructor(private readonly o: SessionPositionsOptions) {
    this.tracker = new AckTracker(o.resumeFrom);
  }

  /**
   * Whether the transaction whose commit record is at `commitLsn` is published. D4: one committed
   * before resumeFrom is in the stream already (the previous session made it durable). S3: the
   * bridge leaves everything committed at or after the new snapshot's start to the new slot.
   */
  publishes(commitLsn: Lsn | null): boolean {
    if (commitLsn === null) return true;
    if (commitLsn < this.o.resumeFrom) return false;
    return this.o.skipFromLsn === undefined || commitLsn < this.o.skipFromLsn;
  }

  /** A flush position reached once every event registered so far is durable (commit end, heartbeat, idle keepalive). */
  milestone(flushLsn: Lsn): void {
    this.tracker.milestone(flushLsn);
  }

  /**
   * The position to confirm to Postgres. D1 and D2 come from the AckTracker (never past an event
   * that is not durable; never backwards; never below resumeFrom). S3: capped at skipFromLsn, so
   * the bridge slot still holds the skipped transactions if the bridge has to run again.
   */
  flushable(): Lsn {
    const reached = this.tracker.confirmable();
    return this.o.skipFromLsn !== undefined && reached > this.o.skipFromLsn ? this.o.skipFromLsn : reached;
  }

  /** T3: the stop LSN is reached once every change committed before it is durable and confirmable. */
  stopReached(): boolean {
    return this.o.stopAtLsn !== undefined && this.tracker.confirmable() >= this.o.stopAtLsn;
  }

  inFlight(): number {
    return this.tracker.inFlight();
  }
}
