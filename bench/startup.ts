/**
 * Process start-up on the local path (issue 15: every `sync` pays it): the real CLI as a child
 * process, median of BENCH_RUNS rounds (default 5), the variants alternating within each round so
 * a drift of the shared machine hits them alike:
 *  - `--help`: the CLI's own start (no database);
 *  - `status`: start, the embedded postmaster started and stopped, the status read;
 *  - `sync` with nothing to capture: to the `embedded Postgres running` line, to the `sync: capture`
 *    line (start-up until capture begins),
 *    the processor worker's start (`sync: process` to the worker's `join state on disk` line), and
 *    the whole command.
 * Per command: wall time, and the CLI process's own CPU time and peak RSS (every thread, not the
 * postmaster), recorded at its exit by a preload (startup-usage-preload.mjs).
 * Variants: `bundle` (bin/totesys-cdc.js as shipped: the cached bundle), `tsx` (TOTESYS_CLI_BUNDLE=0:
 * the TypeScript through tsx), and with `--baseline <dir>` another checkout's CLI (e.g. the build
 * before a change: `git worktree add /tmp/base <commit>`, node_modules linked in).
 *
 *   npm run bench:startup
 *   BENCH_RUNS=8 npm run bench:startup -- --baseline /tmp/base
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './measure.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PRELOAD = new URL('./startup-usage-preload.mjs', import.meta.url).href;

interface Variant {
  name: string;
  cli: string;
  env: Record<string, string>;
}

interface Run {
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  /** Wall ms since spawn at which each awaited log message first appeared. */
  marks: Record<string, number>;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs the CLI once; `marks` are log messages (JSON lines on stderr) to time. */
async function run(variant: Variant, args: string[], env: Record<string, string>, marks: string[] = []): Promise<Run> {
  const usageFile = path.join(os.tmpdir(), `bench-startup-${process.pid}-${Date.now()}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', PRELOAD, variant.cli, ...args], {
    env: { ...process.env, ...env, ...variant.env, BENCH_USAGE_FILE: usageFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const seen: Record<string, number> = {};
  const tail: string[] = [];
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      for (const mark of marks) if (seen[mark] === undefined && line.includes(`"message":"${mark}"`)) seen[mark] = performance.now() - started;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${variant.name}: ${args.join(' ')} exited with ${code}\n${tail.join('\n')}`);
  const usage = JSON.parse(await fs.readFile(usageFile, 'utf8')) as { cpuMs: number; peakRssMb: number };
  await fs.rm(usageFile, { force: true });
  return { wallMs, ...usage, marks: seen };
}


async function main(): Promise<void> {
  const variants: Variant[] = [
    { name: 'bundle', cli: path.join(REPO, 'bin/totesys-cdc.js'), env: {} },
    { name: 'tsx', cli: path.join(REPO, 'bin/totesys-cdc.js'), env: { TOTESYS_CLI_BUNDLE: '0' } },
  ];
  const baseline = flag('baseline');
  if (baseline) variants.push({ name: 'baseline', cli: path.join(path.resolve(baseline), 'bin/totesys-cdc.js'), env: {} });

  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-startup-'));
  const env = { TOTESYS_STATE_DIR: stateDir, TOTESYS_LOG_LEVEL: 'info' };
  try {
    console.log(`state dir ${stateDir}: seeding (scale 0.01) and a first sync; then ${RUNS} rounds of ${variants.map((v) => v.name).join(' / ')}`);
    await run(variants[0]!, ['seed', '--scale', '0.01'], env);
    for (const variant of variants) await run(variant, ['sync'], env); // warm: bundles made, slot and schemas created

    const results = new Map<string, Run[]>();
    const record = (key: string, r: Run) => results.set(key, [...(results.get(key) ?? []), r]);
    for (let round = 0; round < RUNS; round++) {
      for (const variant of variants) {
        record(`${variant.name} --help`, await run(variant, ['--help'], env));
        record(`${variant.name} status`, await run(variant, ['status'], env));
        record(`${variant.name} sync`, await run(variant, ['sync'], env, ['embedded Postgres running', 'sync: capture', 'sync: process', 'join state on disk']));
      }
      process.stdout.write(`round ${round + 1}/${RUNS} done (load average ${os.loadavg()[0]!.toFixed(1)})\n`);
    }

    const rows: string[] = ['| command | variant | wall | CPU (CLI process) | peak RSS | to postmaster running | to `sync: capture` | worker start |', '|---|---|---|---|---|---|---|---|'];
    for (const command of ['--help', 'status', 'sync']) {
      for (const variant of variants) {
        const runs = results.get(`${variant.name} ${command}`)!;
        const ms = (f: (r: Run) => number | undefined) => {
          const values = runs.map(f).filter((v): v is number => v !== undefined);
          return values.length ? `${Math.round(median(values))} ms` : '';
        };
        const worker = (r: Run) => (r.marks['join state on disk'] !== undefined && r.marks['sync: process'] !== undefined ? r.marks['join state on disk'] - r.marks['sync: process'] : undefined);
        rows.push(
          `| \`${command}\` | ${variant.name} | ${ms((r) => r.wallMs)} | ${ms((r) => r.cpuMs)} | ${Math.round(median(runs.map((r) => r.peakRssMb)))} MB | ${command === 'sync' ? ms((r) => r.marks['embedded Postgres running']) : ''} | ${command === 'sync' ? ms((r) => r.marks['sync: capture']) : ''} | ${command === 'sync' ? ms(worker) : ''} |`,
        );
      }
    }
    console.log(`\nmedians of ${RUNS} rounds, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    console.log(rows.join('\n'));
  } finally {
    await fs.rm(stateDir, { recursive: true, force: true });
  }
}

await main();
