import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../capture/publish/ack-tracker.js';

/**
 * Model check of AckTracker against its numbered invariants: random interleavings of "event",
 * "milestone" and "durable up to" steps, compared with a naive model that remembers everything.
 */
type Step = { kind: 'event' } | { kind: 'milestone'; gap: number } | { kind: 'durable'; fraction: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'event' }),
  fc.record({ kind: fc.constant('milestone' as const), gap: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ kind: fc.constant('durable' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

describe('AckTracker', () => {
  it('confirms only milestones whose preceding events are durable, monotonically, and catches up', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1_000_000n }), fc.array(step, { maxLength: 200 }), (start, steps) => {
        const tracker = new AckTracker(start);
        const milestones: { seqBound: number; lsn: bigint }[] = [];
        let events = 0;
        let durable = 0;
        let lsn = start;
        let lastConfirmed = start;
        for (const s of steps) {
          if (s.kind === 'event') {
            expect(tracker.register()).toBe(events++);
          } else if (s.kind === 'milestone') {
            lsn += BigInt(s.gap); // gap 0: a repeated position, must be ignored
            tracker.milestone(lsn);
            milestones.push({ seqBound: events, lsn });
          } else {
            durable = Math.max(durable, Math.floor(durable + (events - durable) * s.fraction));
            tracker.durableUpTo(durable);
          }
          const confirmed = tracker.confirmable();
          // 1. never beyond a milestone that has non-durable events before it
          const allowed = milestones.filter((m) => m.seqBound <= durable).reduce((a, m) => (m.lsn > a ? m.lsn : a), start);
          expect(confirmed <= allowed).toBe(true);
          // ... and exactly the highest such milestone (nothing confirmable is held back)
          expect(confirmed).toBe(allowed);
          // 2. monotone
          expect(confirmed >= lastConfirmed).toBe(true);
          lastConfirmed = confirmed;
          expect(tracker.inFlight()).toBe(events - durable);
        }
        // 3. all durable → the highest milestone
        tracker.durableUpTo(events);
        expect(tracker.confirmable()).toBe(milestones.reduce((a, m) => (m.lsn > a ? m.lsn : a), start));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a durability report beyond the registered events', () => {
    const tracker = new AckTracker();
    tracker.register();
    expect(() => tracker.durableUpTo(2)).toThrow(RangeError);
  });

  it('keeps memory bounded by pending milestones', () => {
    const tracker = new AckTracker();
    for (let i = 1; i <= 10_000; i++) {
      tracker.register();
      tracker.milestone(BigInt(i));
      tracker.durableUpTo(i);
    }
    expect(tracker.confirmable()).toBe(10_000n);
    expect((tracker as unknown as { pending: unknown[] }).pending).toHaveLength(0);
  });
});
