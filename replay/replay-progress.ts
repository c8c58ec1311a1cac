/** Progress of a replay, phase by phase (reported to the CLI's progress bar and to benches). */
export type ReplayPhase = 'read' | 'process' | 'load' | 'swap';

export interface ReplayProgress {
  phase: ReplayPhase;
  /** Units done / total in this phase: compressed bytes (read), events (process), manifests (load). */
  done: number;
  total: number;
  unit: 'bytes' | 'events' | 'manifests';
  /** Events handled so far in this phase and their rate. */
  events: number;
  eventsPerSecond: number;
  /** Estimated time left in this phase; null when unknown. */
  etaMs: number | null;
}

/** What the steps of a replay report their progress to. */
export interface PhaseProgress {
  start(phase: ReplayPhase, unit: ReplayProgress['unit']): void;
  update(done: number, total: number, events: number): void;
}

/** At most ~10 updates a second to `onProgress`, but always the first and the final one of a phase. */
export function progressReporter(onProgress: ((progress: ReplayProgress) => void) | undefined): PhaseProgress {
  let phase: ReplayPhase = 'read';
  let unit: ReplayProgress['unit'] = 'bytes';
  let phaseStart = performance.now();
  let lastEmit = 0;
  return {
    start(next, nextUnit) {
      phase = next;
      unit = nextUnit;
      phaseStart = performance.now();
      lastEmit = 0;
      onProgress?.({ phase, done: 0, total: 0, unit, events: 0, eventsPerSecond: 0, etaMs: null });
    },
    update(done, total, events) {
      if (!onProgress) return;
      const at = performance.now();
      if (done < total && at - lastEmit < 100) return;
      lastEmit = at;
      const seconds = Math.max((at - phaseStart) / 1000, 1e-3);
      const rate = done / seconds;
      onProgress({ phase, done, total, unit, events, eventsPerSecond: events / seconds, etaMs: rate > 0 && total >= done ? ((total - done) / rate) * 1000 : null });
    },
  };
}
