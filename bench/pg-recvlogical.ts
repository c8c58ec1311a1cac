/**
 * `pg_recvlogical` as a benchmark baseline: the server-side decoding floor. It streams pgoutput to
 * /dev/null, so its wall time is what the walsender needs to decode the WAL and send it, with no
 * client work. Used by bench:capture (one large transaction) and bench:catchup (the backlog).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function findPgRecvlogical(): Promise<string> {
  for (const v of ['17', '16', '15', '14']) {
    const bin = `/usr/lib/postgresql/${v}/bin/pg_recvlogical`;
    if (existsSync(bin)) return bin;
  }
  console.error('pg_recvlogical not found: installing postgresql-client with apt-get');
  await run('apt-get', ['install', '-y', 'postgresql-client']);
  return findPgRecvlogical();
}

/** CPU seconds (user + system) of this process's waited-for children, from /proc (Linux); null elsewhere. */
export async function childrenCpuSeconds(): Promise<number | null> {
  try {
    const stat = await fs.readFile('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of stat (cutime, cstime) in clock ticks; fields here start at field 3.
    const ticks = Number(fields[13]) + Number(fields[14]);
    const { stdout } = await run('getconf', ['CLK_TCK']);
    return Number.isFinite(ticks) ? ticks / Number(stdout.trim() || 100) : null;
  } catch {
    return null;
  }
}

export interface RecvlogicalRun {
  seconds: number;
  /** pg_recvlogical's own CPU seconds (null where /proc is missing). */
  cpuSeconds: number | null;
}

/**
 * Decodes `slot` from its position up to `endLsn` with pgoutput (protocol 1, `publication`) into
 * /dev/null and times it.
 */
export async function timePgRecvlogical(bin: string, options: { url: string; slot: string; publication: string; endLsn: string }): Promise<RecvlogicalRun> {
  const before = await childrenCpuSeconds();
  const started = performance.now();
  await run(bin, ['-d', options.url, '--slot', options.slot, '--start', '-o', 'proto_version=1', '-o', `publication_names=${options.publication}`, '--endpos', options.endLsn, '-f', '/dev/null', '--no-loop'], {
    maxBuffer: 1 << 20,
  });
  const seconds = (performance.now() - started) / 1000;
  const after = await childrenCpuSeconds();
  return { seconds, cpuSeconds: before === null || after === null ? null : after - before };
}
