/**
 * The capture's lifecycle as a written state machine (docs/capture-spec.md, "Lifecycle": the
 * diagram, the triggers and who raises them, invariants L1-L6). This is the one place the phase
 * changes (L1): run-capture.ts and the snapshot call the triggers below, and the status file and
 * EMF lines only ever read `phase`. Pure: no I/O, no timers.
 *
 *   starting ─snapshot─▶ snapshot ─streamStarted─▶ streaming
 *   starting, snapshot, reconnecting ─streamStarted─▶ streaming
 *   starting, snapshot, streaming ─connectionLost─▶ reconnecting ─prepare─▶ starting
 *   starting, snapshot, streaming, reconnecting ─stop─▶ stopping ─ended─▶ stopped
 *   any but stopped ─fail─▶ failed
 *
 * A trigger that its state does not list is ignored (`dispatch` returns false): e.g. a stream that
 * starts after a stop was requested leaves the phase at stopping (invariant L3).
 */
export type CapturePhase = 'starting' | 'snapshot' | 'streaming' | 'reconnecting' | 'stopping' | 'stopped' | 'failed';

export type StopReason = 'signal' | 'stop-lsn-reached' | 'finished';

export type LifecycleTrigger =
  /** Slot preparation (publication, slot, snapshot decision) begins or is retried. */
  | { type: 'prepare' }
  /** Slot preparation decided to (re)take the initial snapshot: the slot is being created. */
  | { type: 'snapshot' }
  /** START_REPLICATION on the capture slot succeeded (never sent for the bridge slot). */
  | { type: 'streamStarted' }
  /** A retryable error ended the attempt; the retry loop backs off and tries again. */
  | { type: 'connectionLost'; error: string }
  /** SIGTERM/SIGINT (the abort signal), the stop LSN of `sync`, or the end of the run. */
  | { type: 'stop'; reason: StopReason }
  /** Everything queued was published and confirmed; the connections are closed. */
  | { type: 'ended' }
  /** A permanent error: the process exits 1 with its message. */
  | { type: 'fail'; error: string };

export const TERMINAL_PHASES: readonly CapturePhase[] = ['stopped', 'failed'];
/** Phases in which the capture works toward streaming (a stop request moves each to stopping). */
export const ACTIVE_PHASES: readonly CapturePhase[] = ['starting', 'snapshot', 'streaming', 'reconnecting'];

/** The transition table: the next phase, or null when the trigger is ignored in that phase. */
export function nextPhase(phase: CapturePhase, trigger: LifecycleTrigger['type']): CapturePhase | null {
  // L2: stopped and failed are terminal.
  if (phase === 'stopped' || phase === 'failed') return null;
  switch (trigger) {
    case 'prepare':
      return phase === 'starting' || phase === 'reconnecting' ? 'starting' : null;
    case 'snapshot':
      return phase === 'starting' ? 'snapshot' : null;
    case 'streamStarted':
      // L5: streaming only once the capture slot streams; L3: never again after a stop request.
      return phase === 'starting' || phase === 'snapshot' || phase === 'reconnecting' ? 'streaming' : null;
    case 'connectionLost':
      return phase === 'stopping' ? null : 'reconnecting';
    case 'stop':
      return phase === 'stopping' ? null : 'stopping';
    case 'ended':
      // L4: stopped only through stopping.
      return phase === 'stopping' ? 'stopped' : null;
    case 'fail':
      return 'failed';
  }
}

export interface LifecycleChange {
  from: CapturePhase;
  to: CapturePhase;
  trigger: LifecycleTrigger;
}

export class CaptureLifecycle {
  private current: CapturePhase = 'starting';
  private stopReasonValue: StopReason | null = null;

  constructor(private readonly onChange?: (change: LifecycleChange) => void) {}

  get phase(): CapturePhase {
    return this.current;
  }

  /** Why the stop was requested (the first request wins), or null while none was. */
  get stopReason(): StopReason | null {
    return this.stopReasonValue;
  }

  get stopRequested(): boolean {
    return this.stopReasonValue !== null;
  }

  get terminal(): boolean {
    return TERMINAL_PHASES.includes(this.current);
  }

  /** Applies a trigger; false when the current phase ignores it. */
  dispatch(trigger: LifecycleTrigger): boolean {
    if (trigger.type === 'stop' && !this.terminal) this.stopReasonValue ??= trigger.reason;
    const to = nextPhase(this.current, trigger.type);
    if (to === null) return false;
    const from = this.current;
    this.current = to;
    this.onChange?.({ from, to, trigger });
    return true;
  }

  prepare(): boolean {
    return this.dispatch({ type: 'prepare' });
  }

  snapshot(): boolean {
    return this.dispatch({ type: 'snapshot' });
  }

  streamStarted(): boolean {
    return this.dispatch({ type: 'streamStarted' });
  }

  connectionLost(error: string): boolean {
    return this.dispatch({ type: 'connectionLost', error });
  }

  stop(reason: StopReason): boolean {
    return this.dispatch({ type: 'stop', reason });
  }

  /** L4: the run is over; a run that ends without a stop request stops through stopping too. */
  end(): boolean {
    if (this.terminal) return false;
    this.stop('finished');
    return this.dispatch({ type: 'ended' });
  }

  fail(error: string): boolean {
    return this.dispatch({ type: 'fail', error });
  }
}
