import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureLifecycle, type CapturePhase, type LifecycleChange, type StopReason } from '../../capture/lifecycle/capture-lifecycle.js';
import { SessionPositions } from '../../capture/replication/session-positions.js';

/**
 * Model-based checks of the capture spec (docs/capture-spec.md): random command sequences drive
 * the real lifecycle and the real session positions (with their AckTracker) beside a plain model,
 * and the numbered invariants are checked after every step.
 */

// ---- lifecycle: L2-L6 ---------------------------------------------------------------------------

const ACTIVE: readonly CapturePhase[] = ['starting', 'snapshot', 'streaming', 'reconnecting'];
const TERMINAL: readonly CapturePhase[] = ['stopped', 'failed'];

interface LifecycleModel {
  phase: CapturePhase;
  stopRequested: boolean;
}
interface LifecycleReal {
  lifecycle: CaptureLifecycle;
  changes: LifecycleChange[];
}

type Trigger = 'prepare' | 'snapshot' | 'streamStarted' | 'connectionLost' | 'stop' | 'end' | 'fail';

/** The model: where each trigger may lead, written as the spec's table says it. */
function modelStep(m: LifecycleModel, trigger: Trigger): void {
  if (TERMINAL.includes(m.phase)) return; // L2
  const active = ACTIVE.includes(m.phase);
  switch (trigger) {
    case 'prepare':
      if (m.phase === 'starting' || m.phase === 'reconnecting') m.phase = 'starting';
      break;
    case 'snapshot':
      if (m.phase === 'starting') m.phase = 'snapshot';
      break;
    case 'streamStarted':
      if (active && m.phase !== 'streaming') m.phase = 'streaming';
      break;
    case 'connectionLost':
      if (active) m.phase = 'reconnecting';
      break;
    case 'stop':
      m.stopRequested = true;
      if (active) m.phase = 'stopping';
      break;
    case 'end':
      m.stopRequested = true;
      m.phase = 'stopped';
      break;
    case 'fail':
      m.phase = 'failed';
      break;
  }
}

/** How each trigger drives the real lifecycle. */
const DRIVE: Record<Trigger, (lifecycle: CaptureLifecycle, reason: StopReason) => void> = {
  prepare: (lifecycle) => lifecycle.prepare(),
  snapshot: (lifecycle) => lifecycle.snapshot(),
  streamStarted: (lifecycle) => lifecycle.streamStarted(),
  connectionLost: (lifecycle) => lifecycle.connectionLost('connection reset'),
  stop: (lifecycle, reason) => lifecycle.stop(reason),
  end: (lifecycle) => lifecycle.end(),
  fail: (lifecycle) => lifecycle.fail('permanent'),
};

class LifecycleCommand implements fc.Command<LifecycleModel, LifecycleReal> {
  constructor(
    readonly trigger: Trigger,
    readonly reason: StopReason = 'signal',
  ) {}

  check(): boolean {
    return true;
  }

  run(m: LifecycleModel, r: LifecycleReal): void {
    const before = r.lifecycle.phase;
    const changesBefore = r.changes.length;
    DRIVE[this.trigger](r.lifecycle, this.reason);
    modelStep(m, this.trigger);
    const phase = r.lifecycle.phase;
    expect(phase).toBe(m.phase);
    // L1: every change of phase is reported (the status file's phase is the lifecycle's).
    if (r.changes.length > changesBefore) expect(r.changes.at(-1)?.to).toBe(phase);
    else expect(phase).toBe(before);
    // L2: stopped and failed are terminal.
    if (TERMINAL.includes(before)) expect(phase).toBe(before);
    // L3: after a stop request the capture never works toward streaming again.
    if (m.stopRequested) expect(['stopping', 'stopped', 'failed']).toContain(phase);
    if (!TERMINAL.includes(phase)) expect(r.lifecycle.stopRequested).toBe(m.stopRequested);
    // L4: stopped only through stopping.
    for (const change of r.changes) if (change.to === 'stopped') expect(change.from).toBe('stopping');
    // L5: streaming only on START_REPLICATION of the capture slot; snapshot only from starting.
    for (const change of r.changes) {
      if (change.to === 'streaming') expect(change.trigger.type).toBe('streamStarted');
      if (change.to === 'snapshot') expect(change.from).toBe('starting');
      // L6: reconnecting only on a retryable error, failed only on a permanent one.
      if (change.to === 'reconnecting') expect(change.trigger.type).toBe('connectionLost');
      if (change.to === 'failed') expect(change.trigger.type).toBe('fail');
    }
  }

  toString(): string {
    return this.trigger === 'stop' ? `stop(${this.reason})` : this.trigger;
  }
}

const lifecycleCommands = [
  fc.constant(new LifecycleCommand('prepare')),
  fc.constant(new LifecycleCommand('snapshot')),
  fc.constant(new LifecycleCommand('streamStarted')),
  fc.constant(new LifecycleCommand('connectionLost')),
  fc.constantFrom<StopReason>('signal', 'stop-lsn-reached').map((reason) => new LifecycleCommand('stop', reason)),
  fc.constant(new LifecycleCommand('end')),
  fc.constant(new LifecycleCommand('fail')),
];

function newLifecycle(): { model: LifecycleModel; real: LifecycleReal } {
  const changes: LifecycleChange[] = [];
  return { model: { phase: 'starting', stopRequested: false }, real: { lifecycle: new CaptureLifecycle((change) => changes.push(change)), changes } };
}

// ---- session positions: D1, D2, D4, D6, S3, T3 --------------------------------------------------

interface PositionsModel {
  resumeFrom: bigint;
  skipFrom: bigint | undefined;
  stopAt: bigint | undefined;
  /** The WAL written so far ends here; every new record lands after it. */
  walEnd: bigint;
  /** Published events in WAL order: their LSN and their transaction's commit LSN. */
  events: { lsn: bigint; commitLsn: bigint }[];
  durable: number;
  /** Flush positions reached once the events published before them (seqBound) are durable. */
  milestones: { seqBound: number; lsn: bigint }[];
  lastFlushable: bigint;
}
interface PositionsReal {
  positions: SessionPositions;
}

function checkPositions(m: PositionsModel, r: PositionsReal): void {
  const flushable = r.positions.flushable();
  // D1: never past an event the stream has not durably accepted. Postgres resends a transaction
  // whose commit record starts at or after the confirmed position: confirming F loses every
  // not-yet-durable event of a transaction that committed before F.
  for (const event of m.events.slice(m.durable)) expect(flushable <= event.commitLsn).toBe(true);
  // D2: never backwards, never below the slot's position at the session's start.
  expect(flushable >= m.lastFlushable).toBe(true);
  expect(flushable >= m.resumeFrom).toBe(true);
  m.lastFlushable = flushable;
  // S3: the bridge never confirms past the new snapshot's start ...
  if (m.skipFrom !== undefined) expect(flushable <= m.skipFrom).toBe(true);
  // D4 and S3: ... and publishes nothing committed before its resume position or at/after that start.
  for (const event of m.events) {
    expect(event.commitLsn >= m.resumeFrom).toBe(true);
    if (m.skipFrom !== undefined) expect(event.commitLsn < m.skipFrom).toBe(true);
  }
  // Nothing confirmable is held back: the highest milestone whose preceding events are durable.
  const reached = m.milestones.filter((s) => s.seqBound <= m.durable).reduce((a, s) => (s.lsn > a ? s.lsn : a), m.resumeFrom);
  expect(flushable).toBe(m.skipFrom !== undefined && reached > m.skipFrom ? m.skipFrom : reached);
  // T3: the stop LSN is reached exactly when everything committed before it is durable.
  expect(r.positions.stopReached()).toBe(m.stopAt !== undefined && reached >= m.stopAt);
  expect(r.positions.inFlight()).toBe(m.events.length - m.durable);
}

/** One committed transaction of `changes` row changes, `gap` bytes after the WAL written so far. */
class TransactionCommand implements fc.Command<PositionsModel, PositionsReal> {
  constructor(
    readonly gap: number,
    readonly changes: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: PositionsModel, r: PositionsReal): void {
    const firstLsn = m.walEnd + BigInt(this.gap) + 1n;
    const commitLsn = firstLsn + BigInt(this.changes) * 10n;
    const commitEnd = commitLsn + 8n;
    m.walEnd = commitEnd;
    if (r.positions.publishes(commitLsn)) {
      for (let i = 0; i < this.changes; i++) {
        expect(r.positions.tracker.register()).toBe(m.events.length);
        m.events.push({ lsn: firstLsn + BigInt(i) * 10n, commitLsn });
      }
    }
    r.positions.milestone(commitEnd);
    m.milestones.push({ seqBound: m.events.length, lsn: commitEnd });
    checkPositions(m, r);
  }
  toString(): string {
    return `transaction(+${this.gap}, ${this.changes} changes)`;
  }
}

/** A heartbeat message outside a transaction, or an idle keepalive (D6: nothing open, all handled). */
class IdleMilestoneCommand implements fc.Command<PositionsModel, PositionsReal> {
  constructor(readonly gap: number) {}
  check(): boolean {
    return true;
  }
  run(m: PositionsModel, r: PositionsReal): void {
    m.walEnd += BigInt(this.gap);
    r.positions.milestone(m.walEnd);
    m.milestones.push({ seqBound: m.events.length, lsn: m.walEnd });
    checkPositions(m, r);
  }
  toString(): string {
    return `idle milestone(+${this.gap})`;
  }
}

/** The stream accepted the next batch (puts complete in order, one at a time). */
class DurableCommand implements fc.Command<PositionsModel, PositionsReal> {
  constructor(readonly fraction: number) {}
  check(m: PositionsModel): boolean {
    return m.durable < m.events.length;
  }
  run(m: PositionsModel, r: PositionsReal): void {
    m.durable = Math.max(m.durable + 1, Math.floor(m.durable + (m.events.length - m.durable) * this.fraction));
    r.positions.tracker.durableUpTo(m.durable);
    checkPositions(m, r);
  }
  toString(): string {
    return `durable(${this.fraction.toFixed(2)})`;
  }
}

const positionsCommands = [
  fc.record({ gap: fc.integer({ min: 0, max: 300 }), changes: fc.integer({ min: 0, max: 5 }) }).map(({ gap, changes }) => new TransactionCommand(gap, changes)),
  fc.integer({ min: 0, max: 200 }).map((gap) => new IdleMilestoneCommand(gap)),
  fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => new DurableCommand(fraction)),
];

const positionsSetup = fc.record({
  resumeFrom: fc.bigInt({ min: 0n, max: 5_000n }),
  /** The slot streams from its restart position, which may lie before the confirmed one. */
  rewind: fc.bigInt({ min: 0n, max: 2_000n }),
  skipAfter: fc.option(fc.bigInt({ min: 0n, max: 5_000n }), { nil: undefined }),
  stopAfter: fc.option(fc.bigInt({ min: 0n, max: 5_000n }), { nil: undefined }),
});

describe('capture spec, model-based', () => {
  it('lifecycle: the phase follows the written state machine and keeps L1-L6 under any sequence of triggers', () => {
    fc.assert(
      fc.property(fc.commands(lifecycleCommands, { maxCommands: 60 }), (commands) => {
        fc.modelRun(newLifecycle, commands);
      }),
      { numRuns: 500 },
    );
  });

  it('lifecycle: a stop requested in any state ends in stopped (T2), unless a permanent error came first', () => {
    fc.assert(
      fc.property(fc.commands(lifecycleCommands, { maxCommands: 30 }), (commands) => {
        const setup = newLifecycle();
        fc.modelRun(() => setup, commands);
        const { lifecycle } = setup.real;
        const failedBefore = lifecycle.phase === 'failed';
        lifecycle.stop('signal');
        if (!lifecycle.terminal) expect(lifecycle.phase).toBe('stopping');
        lifecycle.end();
        expect(lifecycle.phase).toBe(failedBefore ? 'failed' : 'stopped');
      }),
      { numRuns: 300 },
    );
  });

  it('session positions: confirms only durable prefixes, never past the bridge limit, never twice the same transaction (D1, D2, D4, S3, T3)', () => {
    fc.assert(
      fc.property(positionsSetup, fc.commands(positionsCommands, { maxCommands: 80 }), (setup, commands) => {
        const skipFrom = setup.skipAfter === undefined ? undefined : setup.resumeFrom + setup.skipAfter;
        const stopAt = setup.stopAfter === undefined ? undefined : setup.resumeFrom + setup.stopAfter;
        const walStart = setup.resumeFrom > setup.rewind ? setup.resumeFrom - setup.rewind : 0n;
        fc.modelRun(
          () => ({
            model: { resumeFrom: setup.resumeFrom, skipFrom, stopAt, walEnd: walStart, events: [], durable: 0, milestones: [], lastFlushable: setup.resumeFrom },
            real: { positions: new SessionPositions({ resumeFrom: setup.resumeFrom, skipFromLsn: skipFrom, stopAtLsn: stopAt }) },
          }),
          commands,
        );
      }),
      { numRuns: 300 },
    );
  });
});
