import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from '../support/cli.js';
import { createClusterDatabase, embeddedBinDir, startPostgresCluster, systemBinDir, type PostgresCluster } from '../support/postgres-cluster.js';
import { waitForWarehouseToEqualSource } from '../support/warehouse-equals-source.js';

/**
 * Issue 14 item 7: `up` streams from an external source into an external warehouse while both
 * servers are restarted (fast and immediate shutdown) several times under a workload. `up` must keep
 * running (no unhandled 'error' event from a dropped pg connection), the workload must carry on, and
 * the warehouse must converge to the source by itself, without a manual `sync`. As in the issue's
 * report, the source is the machine's PostgreSQL 15 when it is installed (.ci/run installs it); the
 * warehouse is the embedded 17.
 */
function spawnCli(args: string[]): { child: ChildProcess; output: () => string; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TOTESYS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (d) => ((output += d), (stdout += d)));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('database restarts while up streams', () => {
  let source: PostgresCluster;
  let warehouse: PostgresCluster;
  let sourceUrl: string;
  let warehouseUrl: string;
  let stateDir: string;
  let common: string[];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const embedded = await embeddedBinDir();
    [source, warehouse] = await Promise.all([startPostgresCluster({ binDir: systemBinDir() ?? embedded }), startPostgresCluster({ binDir: embedded })]);
    console.info(`source PostgreSQL ${source.majorVersion}, warehouse PostgreSQL ${warehouse.majorVersion}`);
    [sourceUrl, warehouseUrl] = await Promise.all([createClusterDatabase(source, 'totesys'), createClusterDatabase(warehouse, 'warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-restarts-'));
    common = ['--state-dir', stateDir, '--source-url', sourceUrl, '--warehouse-url', warehouseUrl, '--heartbeat-interval-ms', '1000', '--loader-interval-ms', '300'];
    const seeded = await runCli(['seed', '--create-source-schema', '--scale', '0.02', ...common], { timeoutMs: 60_000 });
    expect(seeded.code, seeded.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    await Promise.all([source?.stop(), warehouse?.stop()]);
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('keeps up running and converges after fast and immediate restarts of the source and the warehouse', async () => {
    const up = spawnCli(['up', '--no-simulate', '--dashboard-port', '0', ...common]);
    children.push(up.child);
    const initial = await waitForWarehouseToEqualSource(sourceUrl, warehouseUrl, 60_000);
    expect(initial, `initial snapshot loaded\n${up.output()}`).toEqual({});

    const workload = spawnCli(['simulate', '--rate', '25', '--duration', '15', '--seed', '5', ...common]);
    children.push(workload.child);
    // Restarts begin once the workload runs (a command that cannot reach its database at start fails fast, by design).
    for (let i = 0; i < 120 && !/simulate: [\d.]+ changes\/s/.test(workload.output()); i++) await sleep(250);
    expect(workload.output()).toMatch(/simulate: [\d.]+ changes\/s/);
    const restarts: [PostgresCluster, 'fast' | 'immediate', string][] = [
      [source, 'fast', 'source'],
      [warehouse, 'immediate', 'warehouse'],
      [source, 'immediate', 'source'],
      [warehouse, 'fast', 'warehouse'],
    ];
    for (const [cluster, mode, name] of restarts) {
      await sleep(2_000);
      await cluster.restart(mode, { downMs: 500 });
      console.info(`restarted the ${name} (${mode})`);
      expect(up.child.exitCode, `up still running after the ${name} restart (${mode})\n${up.output()}`).toBeNull();
    }
    expect(await workload.exited, `the workload survived the restarts\n${workload.output()}`).toBe(0);
    const summary = JSON.parse(workload.stdout());
    expect(summary.changes).toBeGreaterThan(100);
    // Capture rode the source restarts out in process (reconnects with backoff), not by being restarted.
    const status = JSON.parse((await runCli(['status', '--json', ...common])).stdout);
    expect(status.capture.reconnects, 'capture reconnected after the source restarts').toBeGreaterThanOrEqual(2);

    const converged = await waitForWarehouseToEqualSource(sourceUrl, warehouseUrl, 120_000);
    expect(converged, `warehouse equals the source without a manual sync\n${up.output().slice(-5000)}`).toEqual({});
    expect(up.child.exitCode).toBeNull();

    process.kill(-up.child.pid!, 'SIGINT');
    expect(await up.exited, up.output()).toBe(0);
    expect(up.output()).not.toMatch(/Unhandled 'error'|uncaught/i);
    expect(up.output(), 'no stage process was restarted').not.toMatch(/capture process ended unexpectedly/);
  }, 300_000);
});
