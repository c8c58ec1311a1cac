/**
 * `npm run bench`: every stage's benchmark in turn, each printing its figures next to a baseline
 * measured on this machine in the same run. Stages run one after another (2 cores: running them
 * together would measure contention). Pass stage names to run a subset: npm run bench -- capture load
 */
import { spawnSync } from 'node:child_process';

const STAGES = ['seed', 'stream', 'capture', 'snapshot', 'process', 'parquet', 'load', 'freshness', 'replay', 'catchup'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : STAGES;
const failed: string[] = [];
for (const stage of wanted) {
  if (!STAGES.includes(stage)) throw new Error(`unknown bench stage ${stage}; one of ${STAGES.join(', ')}`);
  console.log(`\n=== bench:${stage} ===`);
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `bench/${stage}.ts`], { stdio: 'inherit' });
  if (result.status !== 0) failed.push(stage);
}
if (failed.length) {
  console.error(`\nbenchmarks failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
