import { describe, expect, it } from 'vitest';
import { classifyVersions, diffKeyedRows, diffVersions, formatDifferences, summarizeDifferences } from '../../soak/differences.js';
import { DEFAULT_FEATURES, parseSoakArgs, SoakUsageError, WORKLOAD_FEATURES } from '../../soak/soak-options.js';
import { KILL_PHASES, planTrial } from '../../soak/trial-plan.js';
import { createPrng } from '../../totesys/prng.js';

/** The soak's pure parts: its comparison (the oracle must be able to fail), options and plans. */
describe('soak differences', () => {
  it('finds a duplicated snapshot version, a lost change and a reorder, per source id', () => {
    const expected = new Map([[1, 'r'], [2, 'c,u,d'], [3, 'r,u'], [4, 'c,u']]);
    const actual = new Map([[1, 'r,r'], [2, 'c,d'], [3, 'u,r'], [4, 'c,u']]);
    const diffs = diffVersions('fact_payment versions', expected, actual);
    expect(diffs).toEqual([
      { table: 'fact_payment versions', key: '1', expected: 'r (1)', got: 'r,r (2)', kind: 'extra-r' },
      { table: 'fact_payment versions', key: '2', expected: 'c,u,d (3)', got: 'c,d (2)', kind: 'missing' },
      { table: 'fact_payment versions', key: '3', expected: 'r,u (2)', got: 'u,r (2)', kind: 'reordered' },
    ]);
    expect(summarizeDifferences(diffs)).toBe('fact_payment versions extra-r 1, fact_payment versions missing 1, fact_payment versions reordered 1');
  });

  it('reports rows on one side only, and changed rows, by key', () => {
    const row = (...v: (string | null)[]) => JSON.stringify(v);
    const diffs = diffKeyedRows('dim_staff', [row('1', 'Ann'), row('2', 'Bob'), row('10', 'Cy')], [row('1', 'Ann'), row('2', 'Rob'), row('11', 'Di')]);
    expect(diffs.map((d) => [d.key, d.expected, d.got])).toEqual([
      ['2', row('2', 'Bob'), row('2', 'Rob')],
      ['10', row('10', 'Cy'), '(none)'],
      ['11', '(none)', row('11', 'Di')],
    ]);
    expect(diffKeyedRows('dim_staff', [row('1', 'A')], [row('1', 'A'), row('1', 'A')])).toHaveLength(1);
    expect(diffKeyedRows('dim_staff', [row('1', 'A')], [row('1', 'A')])).toEqual([]);
  });

  it('classifies a streamed change delivered twice apart from a snapshot row sent twice', () => {
    expect(classifyVersions('c,u', 'c,u,u')).toBe('extra-change');
    expect(classifyVersions('c,u,d', 'c,r,u,d')).toBe('extra-r');
    expect(classifyVersions('r,u', 'r,d')).toBe('mixed');
    expect(classifyVersions('r', undefined)).toBe('missing');
  });

  it('prints the first differences and counts the rest', () => {
    const diffs = Array.from({ length: 12 }, (_, i) => ({ table: 't', key: String(i), expected: 'r (1)', got: 'r,r (2)' }));
    const lines = formatDifferences(diffs, 10);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('  t key 0: expected r (1), got r,r (2)');
    expect(lines[10]).toBe('  ... and 2 more');
  });
});

describe('soak options', () => {
  it('has defaults, and reads every flag', () => {
    const defaults = parseSoakArgs([], 123);
    expect(defaults).toMatchObject({ trials: 5, seed: 123, killsPerTrial: 3, keep: false, scale: 0.05 });
    expect(defaults !== 'help' && [...defaults.features]).toEqual([...DEFAULT_FEATURES]);
    const all = parseSoakArgs(['--trials', '50', '--seed', '7', '--keep', '--all-features', '--kills', '2', '--phases', 'loading,snapshot']);
    expect(all).toMatchObject({ trials: 50, seed: 7, keep: true, killsPerTrial: 2 });
    expect(all !== 'help' && [...all.features]).toEqual([...WORKLOAD_FEATURES]);
    expect(all !== 'help' && [...all.phases]).toEqual(['loading', 'snapshot']);
    expect(parseSoakArgs(['--help'])).toBe('help');
  });

  it('rejects what it does not know, naming the flag', () => {
    expect(() => parseSoakArgs(['--trials', '0'])).toThrow(/--trials must be an integer >= 1/);
    expect(() => parseSoakArgs(['--features', 'inserts,teleport'])).toThrow(/--features: unknown teleport/);
    expect(() => parseSoakArgs(['--bogus'])).toThrow(SoakUsageError);
  });
});

describe('soak trial plans', () => {
  it('are the same for the same seed, and differ across seeds', () => {
    const features = new Set(WORKLOAD_FEATURES);
    expect(planTrial(createPrng(5), 4, features)).toEqual(planTrial(createPrng(5), 4, features));
    const plans = new Set(Array.from({ length: 10 }, (_, s) => JSON.stringify(planTrial(createPrng(s), 4, features))));
    expect(plans.size).toBeGreaterThan(5);
  });

  it('kill first in the snapshot, then spread over every later phase, restarts on streaming runs, TRUNCATE and schema change after the snapshot', () => {
    const features = new Set(WORKLOAD_FEATURES);
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const { runs } = planTrial(createPrng(seed), 3, features);
      expect(runs[0].kill.phase).toBe('snapshot');
      for (const run of runs) {
        seen.add(run.kill.phase);
        if (run.restart) expect(run.restart.atMs).toBeLessThan(run.kill.delayMs);
        if (run.restart) expect(run).toMatchObject({ command: 'up', kill: { phase: 'streaming' } });
        if (run.truncate || run.schemaChange) expect(run.kill.phase).not.toBe('snapshot');
      }
      expect(runs.filter((r) => r.truncate)).toHaveLength(1);
      expect(runs.filter((r) => r.schemaChange)).toHaveLength(1);
      expect(runs.some((r) => r.restart)).toBe(true);
    }
    expect([...seen].sort()).toEqual([...KILL_PHASES].sort());
  });

  it('without those features, plans none of them; --phases limits where kills land', () => {
    const { runs } = planTrial(createPrng(1), 5, new Set(['inserts', 'updates', 'deletes', 'simulator'] as const), new Set(['loading'] as const));
    expect(runs).toHaveLength(5);
    for (const run of runs) expect(run).toEqual({ command: 'sync', kill: { target: 'sync', phase: 'loading', delayMs: expect.any(Number) } });
  });
});
