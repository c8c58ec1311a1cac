import { parseArgs } from 'node:util';

/**
 * `npm run soak` options, parsed without side effects. Each workload feature can be switched off:
 * the soak runs today with what passes and switches the rest on as it lands.
 */
export const WORKLOAD_FEATURES = ['inserts', 'updates', 'deletes', 'simulator', 'key-changes', 'truncate', 'schema-change', 'restarts'] as const;
export type WorkloadFeature = (typeof WORKLOAD_FEATURES)[number];

/** Where a SIGKILL may land (trial-plan.ts picks the moment). */
export type KillPhase = 'snapshot' | 'streaming' | 'processing' | 'loading';
export const KILL_PHASES: readonly KillPhase[] = ['snapshot', 'streaming', 'processing', 'loading'];

/** What passes on main today (docs/soak.md): every feature since keys, slots and faults landed. */
export const DEFAULT_FEATURES: readonly WorkloadFeature[] = [...WORKLOAD_FEATURES];

export interface SoakOptions {
  trials: number;
  seed: number;
  /** SIGKILLs per trial: the first during the initial snapshot, the others spread over streaming, processing and loading. */
  killsPerTrial: number;
  features: ReadonlySet<WorkloadFeature>;
  /** Phases kills are drawn from (all by default; fewer to look at one failure at a time). */
  phases: ReadonlySet<KillPhase>;
  /** Seed scale of the source (1 = the real totesys, about 30k rows). */
  scale: number;
  keep: boolean;
  stateDir: string | undefined;
}

export const SOAK_HELP = `Usage: npm run soak -- [options]

Kill -9 soak of the local pipeline: per trial a fresh source and warehouse, a workload changing the
source, \`sync\` and \`up\` (and up's capture child) killed with SIGKILL at random moments during the
initial snapshot, streaming, processing and loading, database restarts (fast and immediate) when
enabled; then one clean \`sync\`, and the warehouse must equal independent SQL on the source: every
table, and per source row the number of fact versions the source committed (+1 for the snapshot).

Options:
  --trials <n>          trials to run (default 5)
  --seed <n>            seed of everything random (default: from the clock; printed, so a run can be repeated)
  --kills <n>           SIGKILLs per trial (default 3)
  --features <list>     comma-separated workload features (default ${DEFAULT_FEATURES.join(',')})
                        of: ${WORKLOAD_FEATURES.join(', ')}
  --all-features        every feature
  --phases <list>       kill phases to draw from (default ${KILL_PHASES.join(',')})
  --scale <s>           size of the seeded source, 1 = real totesys (default 0.05)
  --state-dir <dir>     where trials keep their Postgres and state (default: a new temp directory)
  --keep                keep the state directory (and the databases) for diagnosis
  --help                this text

Prints one line per trial, then K/N passed; exits 1 when any trial failed, with its first differences.`;

export class SoakUsageError extends Error {}

export function parseSoakArgs(argv: readonly string[], now = Date.now()): SoakOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        trials: { type: 'string' },
        seed: { type: 'string' },
        kills: { type: 'string' },
        features: { type: 'string' },
        'all-features': { type: 'boolean' },
        phases: { type: 'string' },
        scale: { type: 'string' },
        'state-dir': { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new SoakUsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const features = v['all-features'] ? [...WORKLOAD_FEATURES] : v.features !== undefined ? parseFeatures(v.features) : [...DEFAULT_FEATURES];
  return {
    trials: integer('--trials', v.trials, 5, 1),
    seed: integer('--seed', v.seed, now % 1_000_000_000, 0),
    killsPerTrial: integer('--kills', v.kills, 3, 1),
    features: new Set(features),
    phases: new Set(v.phases !== undefined ? parseList('--phases', v.phases, KILL_PHASES) : KILL_PHASES),
    scale: positive('--scale', v.scale, 0.05),
    keep: Boolean(v.keep),
    stateDir: v['state-dir'],
  };
}

function parseFeatures(list: string): WorkloadFeature[] {
  return parseList('--features', list, WORKLOAD_FEATURES);
}

function parseList<T extends string>(flag: string, list: string, known: readonly T[]): T[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(known as readonly string[]).includes(n));
  if (unknown.length) throw new SoakUsageError(`${flag}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  if (names.length === 0) throw new SoakUsageError(`${flag}: name at least one of ${known.join(', ')}`);
  return names as T[];
}

function integer(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new SoakUsageError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new SoakUsageError(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}
