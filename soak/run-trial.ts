import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { errorMessage } from '../platform/errors.js';
import { withPostgresClient } from '../platform/postgres-client.js';
import { createPrng } from '../totesys/prng.js';
import { seedTotesys } from '../totesys/generator/seed-totesys.js';
import type { Difference } from './differences.js';
import { PipelineProcess, waitForExit } from './pipeline-process.js';
import type { SoakCluster } from './soak-cluster.js';
import type { SoakOptions } from './soak-options.js';
import { installSourceAudit } from './source-audit.js';
import { describeRun, planTrial, type KillPhase, type KillTarget, type PlannedRun } from './trial-plan.js';
import { compareWarehouseWithSource } from './warehouse-oracle.js';
import { Workload, type WorkloadCounts } from './workload.js';

/**
 * One trial: a fresh source (seeded, audited) and warehouse on the soak's cluster, the workload
 * running, the planned `sync` / `up` runs each ending in a SIGKILL, database restarts when planned,
 * then one clean `sync` and the oracle. Anything a pipeline process did that it must not (exit
 * non-zero on its own, outlive its parent, ignore SIGTERM) is a failure of the trial too.
 */
export interface KillRecord {
  target: KillTarget;
  phase: KillPhase;
  /** The phase the process was in when killed, or null when it had ended before the kill was due. */
  killedIn: KillPhase | 'starting' | 'done' | null;
}

export interface TrialResult {
  index: number;
  seed: number;
  passed: boolean;
  durationMs: number;
  kills: KillRecord[];
  restarts: string[];
  workload: WorkloadCounts;
  problems: string[];
  differences: Difference[];
  trialDir: string;
  /** The trial's databases, kept with --keep or when it failed (URLs hold the cluster's password: never print them). */
  sourceUrl: string;
  warehouseUrl: string;
}

export interface TrialContext {
  cluster: SoakCluster;
  root: string;
  index: number;
  seed: number;
  options: SoakOptions;
  /** Progress lines (not the trial's result line). */
  note?: (line: string) => void;
}

const SCHEMA = 'star';
const PHASE_TIMEOUT_MS = 180_000;
const FINAL_SYNC_TIMEOUT_MS = 600_000;
const RIDE_OUT_MS = 4_000;

export async function runTrial(ctx: TrialContext): Promise<TrialResult> {
  const startedAt = Date.now();
  const { cluster, options, index, seed } = ctx;
  const prng = createPrng(seed, 'soak-trial');
  const name = `soak_t${index}_${seed}`;
  const trialDir = path.join(ctx.root, `trial-${index}`);
  await fs.mkdir(trialDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(trialDir, 'pipeline.log');
  const source = { db: `${name}_src`, url: '' };
  const warehouse = { db: `${name}_wh`, url: '' };
  await withAdmin(cluster, async (admin) => {
    for (const db of [source.db, warehouse.db]) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(db)}`);
  });
  source.url = cluster.url(source.db);
  warehouse.url = cluster.url(warehouse.db);

  await seedTotesys(source.url, { scale: options.scale, seed });
  await withClient(source.url, async (client) => {
    if (options.features.has('key-changes')) await cascadeOrderKeys(client);
    await installSourceAudit(client);
  });

  const env: Record<string, string> = {
    TOTESYS_SOURCE_URL: source.url,
    TOTESYS_WAREHOUSE_URL: warehouse.url,
    TOTESYS_STATE_DIR: path.join(trialDir, 'state'),
    TOTESYS_SLOT_NAME: name,
    TOTESYS_PUBLICATION_NAME: name,
    TOTESYS_WAREHOUSE_SCHEMA: SCHEMA,
    TOTESYS_LOG_LEVEL: 'info',
    TOTESYS_HEARTBEAT_INTERVAL_MS: '1000',
    TOTESYS_LOADER_INTERVAL_MS: '500',
    TOTESYS_ARCHIVE_FLUSH_INTERVAL_MS: '1000',
    // up serves its dashboard (and status reads) as `npm start` does, on any free port.
    TOTESYS_DASHBOARD_PORT: '0',
  };
  const plan = planTrial(prng.fork('plan'), options.killsPerTrial, options.features, options.phases);
  await fs.writeFile(path.join(trialDir, 'plan.txt'), plan.runs.map(describeRun).join('\n') + '\n');
  const workload = new Workload({ sourceUrl: source.url, slotName: name, features: options.features, prng: prng.fork('workload'), opsPerSecond: 20, simulatorPerSecond: 10 });
  workload.start();

  const kills: KillRecord[] = [];
  const restarts: string[] = [];
  const problems: string[] = [];
  for (const [i, run] of plan.runs.entries()) {
    ctx.note?.(`run ${i + 1}/${plan.runs.length}: ${describeRun(run)}`);
    if (run.truncate) workload.truncateSoon();
    if (run.schemaChange) workload.schemaChangeSoon();
    const outcome = await executeRun(run, { cluster, sourceUrl: source.url, env, logFile, problems, restarts });
    kills.push({ target: run.kill.target, phase: run.kill.phase, killedIn: outcome.killedIn });
    if (outcome.snapshotComplete) workload.allowAnyRows();
  }
  if (workload.hasPendingEvents) {
    // The TRUNCATE or schema change still waits for a published snapshot: a clean sync gives one.
    const sync = new PipelineProcess({ command: 'sync', env, logFile });
    const end = await sync.ended;
    if (end.code === 0 || sync.snapshotPublished) workload.allowAnyRows();
    for (let i = 0; i < 100 && workload.hasPendingEvents; i++) await delay(100);
  }
  const workloadCounts = await workload.stop();
  const changes = workloadCounts.inserts + workloadCounts.updates + workloadCounts.deletes + workloadCounts.keyChanges + workloadCounts.simulated;
  if (changes === 0) problems.push(`the workload changed nothing (${workloadCounts.failed} changes failed, last: ${workload.lastError ?? 'none'}): the trial tested nothing`);
  if (workload.lastError) ctx.note?.(`workload: ${workloadCounts.failed} changes failed, last: ${workload.lastError}`);

  // The clean end: one `sync` without kills must bring the warehouse to the source's position.
  const final = new PipelineProcess({ command: 'sync', env, logFile });
  const timer = setTimeout(() => final.killNow(), FINAL_SYNC_TIMEOUT_MS);
  const end = await final.ended;
  clearTimeout(timer);
  if (end.code !== 0) problems.push(`the final sync exited with ${end.code ?? end.signal}: ${final.lastErrors.join(' | ') || 'no error logged'}`);

  let differences: Difference[] = [];
  try {
    differences = await withClient(source.url, (src) => withClient(warehouse.url, (wh) => compareWarehouseWithSource(src, wh, SCHEMA)));
  } catch (error) {
    problems.push(`the comparison failed: ${errorMessage(error)}`);
  }
  const passed = problems.length === 0 && differences.length === 0;
  if (!options.keep && passed) {
    await withAdmin(cluster, async (admin) => {
      for (const db of [source.db, warehouse.db]) {
        await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [db]);
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(db)} WITH (FORCE)`);
      }
    });
    await fs.rm(trialDir, { recursive: true, force: true });
  }
  return { index, seed, passed, durationMs: Date.now() - startedAt, kills, restarts, workload: workloadCounts, problems, differences, trialDir, sourceUrl: source.url, warehouseUrl: warehouse.url };
}

interface RunContext {
  cluster: SoakCluster;
  sourceUrl: string;
  env: Record<string, string>;
  logFile: string;
  problems: string[];
  restarts: string[];
}

async function executeRun(run: PlannedRun, ctx: RunContext): Promise<{ killedIn: KillRecord['killedIn']; snapshotComplete: boolean }> {
  const p = new PipelineProcess({ command: run.command, env: ctx.env, logFile: ctx.logFile });
  const { kill } = run;
  let killedIn: KillRecord['killedIn'] = null;
  let reached = await p.waitFor(() => (kill.phase === 'streaming' && run.command === 'up' ? p.phase !== 'starting' : p.phase === kill.phase), PHASE_TIMEOUT_MS);
  // up's capture child takes seconds to boot: up streams once the child holds the slot, seen from the source.
  if (reached && run.command === 'up' && kill.phase === 'streaming') reached = await slotActive(p, ctx.sourceUrl, ctx.env.TOTESYS_SLOT_NAME!, PHASE_TIMEOUT_MS);
  if (reached) {
    const origin = Date.now();
    let restarted = false;
    if (run.restart) {
      await sleepWhileRunning(p, run.restart.atMs);
      if (p.running) {
        await ctx.cluster.restart(run.restart.mode);
        ctx.restarts.push(run.restart.mode);
        restarted = true;
      }
    }
    // After a restart up gets a few seconds with the server back before its kill: it must ride the
    // restart out by itself (a process that dies of a dropped connection shows as "ended on its own").
    const rideOutMs = restarted ? RIDE_OUT_MS : 0;
    await sleepWhileRunning(p, Math.max(kill.delayMs - (Date.now() - origin), rideOutMs));
    if (kill.target === 'capture-child') {
      const pid = p.liveCaptureChild();
      if (pid !== undefined && p.running) {
        killedIn = p.phase;
        process.kill(pid, 'SIGKILL');
      }
    } else if (p.running) {
      killedIn = p.phase;
      p.killNow();
    }
  }

  if (run.command === 'up') {
    if (kill.target === 'capture-child' && p.running) {
      // up restarts its capture after a pause: let it, then stop up the way a user does.
      await sleepWhileRunning(p, 2_500);
      if (p.running) {
        p.child.kill('SIGTERM');
        const stopped = await Promise.race([p.ended.then(() => true), delay(60_000).then(() => false)]);
        if (!stopped) {
          ctx.problems.push('up did not stop within 60 s of SIGTERM');
          p.killNow();
        }
      }
    }
    const end = await p.ended;
    const killedByUs = killedIn !== null && kill.target === 'up';
    if (!killedByUs && end.code !== 0) ctx.problems.push(`up ended on its own (${end.code ?? end.signal}): ${p.lastErrors.join(' | ') || 'no error logged'}`);
    const orphans = await waitForExit(p.captureChildPids, 30_000);
    if (orphans.length) ctx.problems.push(`capture child ${orphans.join(', ')} still running 30 s after up ended`);
  } else {
    const end = await p.ended;
    if (killedIn === null && end.code !== 0) ctx.problems.push(`sync ended with ${end.code ?? end.signal} before its planned kill: ${p.lastErrors.join(' | ') || 'no error logged'}`);
    if (killedIn === null && end.code === 0) return { killedIn, snapshotComplete: true };
  }
  return { killedIn, snapshotComplete: p.snapshotPublished };
}

/** True once the replication slot is active (a walsender streams it) while `p` runs; false when `p` ended or time ran out. */
async function slotActive(p: PipelineProcess, sourceUrl: string, slotName: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (p.running && Date.now() < until) {
    const active = await withClient(sourceUrl, async (client) => {
      const { rows } = await client.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
      return rows[0]?.active === true;
    }).catch(() => false);
    if (active) return p.running;
    await sleepWhileRunning(p, 200);
  }
  return false;
}

async function sleepWhileRunning(p: PipelineProcess, ms: number): Promise<void> {
  if (ms > 0) await Promise.race([delay(ms), p.ended]);
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The real totesys schema's foreign keys to the orders are ON UPDATE CASCADE: the key changes rely on it. */
async function cascadeOrderKeys(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string; column: string; parent: string; parent_column: string }>(
    `SELECT c.conname AS name, a.attname AS column, p.relname AS parent, pa.attname AS parent_column
     FROM pg_constraint c
     JOIN pg_class p ON p.oid = c.confrelid
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
     WHERE c.contype = 'f' AND c.conrelid = 'transaction'::regclass AND p.relname IN ('sales_order', 'purchase_order')`,
  );
  const q = (s: string) => client.escapeIdentifier(s);
  for (const fk of rows) {
    await client.query(
      `ALTER TABLE transaction DROP CONSTRAINT ${q(fk.name)}, ADD CONSTRAINT ${q(fk.name)} FOREIGN KEY (${q(fk.column)}) REFERENCES ${q(fk.parent)} (${q(fk.parent_column)}) ON UPDATE CASCADE`,
    );
  }
}

function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withPostgresClient({ url, applicationName: 'soak-oracle', connectionTimeoutMs: 10_000 }, fn);
}

function withAdmin<T>(cluster: SoakCluster, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(cluster.url('postgres'), fn);
}
