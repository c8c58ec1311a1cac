import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../platform/errors.js';
import { formatDifferences, summarizeDifferences } from './differences.js';
import { runTrial, type TrialResult } from './run-trial.js';
import { startSoakCluster } from './soak-cluster.js';
import { parseSoakArgs, SOAK_HELP, SoakUsageError, type SoakOptions } from './soak-options.js';

/**
 * `npm run soak`: trials one after another on one Postgres cluster of its own; a line per trial,
 * then `K/N passed`. Exit 0 only when every trial passed; 1 when one failed (its first differences
 * printed); 2 on a usage error.
 */
async function main(argv: string[]): Promise<number> {
  let options: SoakOptions | 'help';
  try {
    options = parseSoakArgs(argv);
  } catch (error) {
    if (!(error instanceof SoakUsageError)) throw error;
    process.stderr.write(`soak: ${error.message}\n(add --help for usage)\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${SOAK_HELP}\n`);
    return 0;
  }
  const root = options.stateDir ? path.resolve(options.stateDir) : await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-soak-'));
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  const verbose = process.env.SOAK_VERBOSE === '1';
  process.stdout.write(
    `soak: ${options.trials} trials, seed ${options.seed}, ${options.killsPerTrial} kills per trial, scale ${options.scale}, features ${[...options.features].join(',')}` +
      `${options.keep ? `, state in ${root}` : ''}\n`,
  );
  const cluster = await startSoakCluster(root);
  const results: TrialResult[] = [];
  try {
    for (let i = 1; i <= options.trials; i++) {
      const seed = options.seed + i;
      let result: TrialResult;
      try {
        result = await runTrial({ cluster, root, index: i, seed, options, note: verbose ? (line) => process.stdout.write(`  ${line}\n`) : undefined });
      } catch (error) {
        process.stdout.write(`trial ${i}/${options.trials} seed ${seed}: ERROR ${errorMessage(error)}\n`);
        results.push({ index: i, seed, passed: false, durationMs: 0, kills: [], restarts: [], workload: {} as TrialResult['workload'], problems: [errorMessage(error)], differences: [], trialDir: '', sourceUrl: '', warehouseUrl: '' });
        continue;
      }
      results.push(result);
      process.stdout.write(trialLine(result, options.trials) + '\n');
      if (!result.passed) {
        for (const problem of result.problems) process.stdout.write(`  problem: ${problem}\n`);
        if (result.differences.length) {
          process.stdout.write(`  ${result.differences.length} differences (${summarizeDifferences(result.differences)}); first ones:\n`);
          process.stdout.write(formatDifferences(result.differences).join('\n') + '\n');
        }
        process.stdout.write(`  state kept in ${result.trialDir} (pipeline.log, plan.txt); repeat with --seed ${options.seed} --trials ${i}\n`);
      }
    }
  } finally {
    await cluster.stop().catch(() => undefined);
    if (!options.keep && results.every((r) => r.passed)) await fs.rm(root, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.passed).length;
  process.stdout.write(`${passed}/${options.trials} passed\n`);
  return passed === options.trials ? 0 : 1;
}

function trialLine(r: TrialResult, trials: number): string {
  const kills = r.kills.map((k) => `${k.target}@${k.phase}${k.killedIn === null ? '(ended first)' : k.killedIn === k.phase ? '' : `(in ${k.killedIn})`}`);
  const w = r.workload;
  const work = `${w.inserts} ins ${w.updates} upd ${w.deletes} del ${w.keyChanges} key ${w.truncates} trunc ${w.schemaChanges} ddl ${w.simulated} sim`;
  return (
    `trial ${r.index}/${trials} seed ${r.seed}: ${r.passed ? 'PASS' : 'FAIL'} ${(r.durationMs / 1000).toFixed(1)} s; kills ${kills.join(', ')}` +
    `${r.restarts.length ? `; restarts ${r.restarts.join(', ')}` : ''}; workload ${work}`
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`soak crashed: ${errorMessage(error)}\n${(error as Error)?.stack ?? ''}\n`);
    process.exit(1);
  },
);
