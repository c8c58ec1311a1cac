import type { Prng } from '../totesys/prng.js';
import type { RestartMode } from './soak-cluster.js';
import { KILL_PHASES, type KillPhase, type WorkloadFeature } from './soak-options.js';

export { KILL_PHASES, type KillPhase };

/**
 * One trial's schedule, drawn from the seed alone (same seed, same plan): which pipeline command
 * runs, what is SIGKILLed in which phase after how long, when the database restarts, when the
 * TRUNCATE and the schema change happen. What happens at run time (a kill that came after the
 * process had already finished) is recorded by the trial, not planned.
 *
 * Phases: `snapshot` (capture reading the initial snapshot: `sync`, or `up`'s capture child),
 * `streaming` (`up` running, its capture child streaming, or `sync` capturing up to its target WAL position),
 * `processing` (`sync` processing the stream), `loading` (`sync` loading manifests). Killing `up`
 * itself kills its processor, archiver and loader together, at whatever they were doing.
 */
export type KillTarget = 'sync' | 'up' | 'capture-child';

export interface PlannedRun {
  command: 'sync' | 'up';
  kill: { target: KillTarget; phase: KillPhase; delayMs: number };
  /** `up` only: restart the database this long after up started, before the kill. */
  restart?: { mode: RestartMode; atMs: number };
  /** Workload events issued when this run starts (streaming runs only). */
  truncate?: boolean;
  schemaChange?: boolean;
}

export interface TrialPlan {
  runs: PlannedRun[];
}

const SNAPSHOT_KILL_MAX_MS = 1_500;


export function planTrial(prng: Prng, kills: number, features: ReadonlySet<WorkloadFeature>, phases: ReadonlySet<KillPhase> = new Set(KILL_PHASES)): TrialPlan {
  const runs: PlannedRun[] = [];
  // The first kill lands in the initial snapshot (the duplicate versions came from there).
  if (phases.has('snapshot')) {
    runs.push(
      prng.chance(0.7)
        ? { command: 'sync', kill: { target: 'sync', phase: 'snapshot', delayMs: prng.int(0, SNAPSHOT_KILL_MAX_MS) } }
        : { command: 'up', kill: { target: 'capture-child', phase: 'snapshot', delayMs: prng.int(0, SNAPSHOT_KILL_MAX_MS) } },
    );
  }
  const later = KILL_PHASES.filter((p) => p !== 'snapshot' && phases.has(p));
  // Restart modes alternate from a random first one, so a trial with two restarts has both.
  let restarts = prng.int(0, 1);
  for (let i = runs.length; i < kills && later.length > 0; i++) {
    const phase = prng.pick(later);
    if (phase === 'processing') runs.push({ command: 'sync', kill: { target: 'sync', phase, delayMs: prng.int(0, 600) } });
    else if (phase === 'loading') runs.push({ command: 'sync', kill: { target: 'sync', phase, delayMs: prng.int(0, 400) } });
    else if (prng.chance(0.3)) runs.push({ command: 'sync', kill: { target: 'sync', phase, delayMs: prng.int(0, 300) } });
    else {
      const run: PlannedRun = { command: 'up', kill: { target: prng.chance(0.5) ? 'up' : 'capture-child', phase, delayMs: prng.int(1_500, 5_000) } };
      if (features.has('restarts') && prng.chance(0.7)) {
        run.restart = { mode: restarts++ % 2 === 0 ? 'fast' : 'immediate', atMs: prng.int(500, run.kill.delayMs - 500) };
      }
      runs.push(run);
    }
  }
  // Restarts need an `up` streaming run, the TRUNCATE and the schema change a run after the
  // snapshot one: add an `up` run if the draw gave none.
  const hasUpRun = runs.some((r) => r.command === 'up' && r.kill.phase === 'streaming');
  const hasLaterRun = runs.some((r) => r.kill.phase !== 'snapshot');
  if ((features.has('restarts') && !hasUpRun) || ((features.has('truncate') || features.has('schema-change')) && !hasLaterRun)) {
    runs.push({ command: 'up', kill: { target: prng.chance(0.5) ? 'up' : 'capture-child', phase: 'streaming', delayMs: prng.int(2_500, 5_000) } });
  }
  // With restarts on, every trial restarts the database at least once.
  const firstUp = runs.find((r) => r.command === 'up' && r.kill.phase === 'streaming');
  if (features.has('restarts') && firstUp && !runs.some((r) => r.restart)) {
    firstUp.restart = { mode: restarts % 2 === 0 ? 'fast' : 'immediate', atMs: prng.int(500, firstUp.kill.delayMs - 500) };
  }
  const streaming = runs.map((r, i) => (r.kill.phase === 'snapshot' ? -1 : i)).filter((i) => i >= 0);
  if (features.has('truncate') && streaming.length) runs[prng.pick(streaming)].truncate = true;
  if (features.has('schema-change') && streaming.length) runs[prng.pick(streaming)].schemaChange = true;
  return { runs };
}

/** One line per run, for the trial's log and --keep diagnosis. */
export function describeRun(run: PlannedRun): string {
  const parts = [`${run.command}: kill -9 ${run.kill.target} in ${run.kill.phase} after ${run.kill.delayMs} ms`];
  if (run.restart) parts.push(`${run.restart.mode} restart at ${run.restart.atMs} ms`);
  if (run.truncate) parts.push('TRUNCATE payment');
  if (run.schemaChange) parts.push('schema change');
  return parts.join(', ');
}
