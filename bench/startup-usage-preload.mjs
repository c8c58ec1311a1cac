// Preload for bench/startup.ts (`node --import`): at exit, the process's own CPU time and peak RSS
// (all its threads, not its child processes such as the postmaster) go to $BENCH_USAGE_FILE.
import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && process.env.BENCH_USAGE_FILE) {
  const file = process.env.BENCH_USAGE_FILE;
  process.on('exit', () => {
    const usage = process.resourceUsage();
    fs.writeFileSync(file, JSON.stringify({ cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, peakRssMb: usage.maxRSS / 1024 }));
  });
}
