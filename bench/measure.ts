/**
 * What several benchmarks measure with: medians, a Postgres cluster's CPU seconds, a stream writer
 * that only counts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChangeStreamWriter, StreamRecord } from '../stream/change-stream.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A change-stream writer that keeps nothing: capture's own cost, without the stream's. */
export class CountingWriter implements ChangeStreamWriter {
  records = 0;
  async put(records: readonly StreamRecord[]) {
    this.records += records.length;
  }
  async close() {}
}

const CLOCK_TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [state, ppid, ...]. */
async function procStat(pid: number | string): Promise<string[] | null> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * CPU seconds a Postgres cluster (its data directory) has used so far: the postmaster's own and its
 * exited children's (cutime, cstime: backends that ended, the walsender) plus its live children's.
 * On a shared machine CPU seconds compare across builds better than wall time does. Linux only.
 */
export async function postgresCpuSeconds(dataDir: string): Promise<number> {
  const postmaster = (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]!.trim();
  const own = await procStat(postmaster);
  if (!own) return 0;
  // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = await procStat(entry);
    if (child && child[1] === postmaster) ticks += Number(child[11]) + Number(child[12]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}
