import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from '../support/cli.js';

/** `npm start` as a user runs it: the real CLI as a child, a fresh state directory, Ctrl-C to stop. */
function startUp(stateDir: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'up', '--state-dir', stateDir, '--rate', '20', '--scale', '0.1', '--loader-interval-ms', '300'], {
    cwd: REPO_ROOT,
    env: { ...process.env, TOTESYS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, like a shell job: Ctrl-C goes to the whole group
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function statusJson(stateDir: string): Promise<any> {
  const result = await runCli(['status', '--json', '--state-dir', stateDir]);
  if (result.code !== 0) throw new Error(`status exited with ${result.code}: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout);
}

/**
 * Polls every 2 s: each probe runs the `status` CLI (a Node process and an attach to Postgres, about
 * 1.5 CPU-seconds), which on a loaded 2-core machine would otherwise take a core from the `up` it watches.
 * The bounds are generous for the same reason: a CI machine shared with other work runs this several times slower.
 */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

describe('totesys-cdc up (npm start)', () => {
  let stateDir: string;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('seeds, streams changes into the warehouse, refuses a second up, stops on Ctrl-C and reuses its data', async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-up-'));
    const first = startUp(stateDir);
    children.push(first.child);

    // Simulated changes reach the warehouse: fact versions beyond the seeded snapshot appear.
    let lastStatus: unknown;
    const loaded = await waitFor(
      'simulated changes in the warehouse',
      async () => {
        if (first.child.exitCode !== null) throw new Error(`up exited early with ${first.child.exitCode}`);
        if (!(await fs.stat(path.join(stateDir, 'up.lock')).catch(() => null))) return undefined;
        const status = await statusJson(stateDir).catch((error) => ({ statusFailed: String(error) }));
        lastStatus = status;
        const w = status?.warehouse;
        return w?.initialised && (w.rowsByTable.fact_sales_order ?? 0) > 0 && status.capture?.phase === 'streaming' && status.capture.eventsPublished > status.capture.snapshotRowsPublished ? status : undefined;
      },
      200_000,
    ).catch((error) => {
      throw new Error(`${error.message}\n--- last status ---\n${JSON.stringify(lastStatus).slice(0, 3000)}\n--- up output ---\n${first.output().slice(-6000)}`);
    });
    expect(loaded.slot.exists).toBe(true);
    expect(loaded.slot.walStatus).toBe('reserved');
    expect(first.output()).toMatch(/seeding totesys/);

    const second = await runCli(['up', '--state-dir', stateDir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another totesys-cdc up \(pid \d+.*\) is already running on this state directory/);

    // Ctrl-C in a terminal: SIGINT to the whole foreground process group, not just `up`.
    process.kill(-first.child.pid!, 'SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/stopping cleanly/);
    expect(first.output()).not.toMatch(/terminating connection|Unhandled 'error'|"level":"error"/);
    const factsAfterFirst = (await statusJson(stateDir)).warehouse.rowsByTable.fact_sales_order;

    // The second start reuses the data: no seeding, and it carries on from the slot.
    const again = startUp(stateDir);
    children.push(again.child);
    await waitFor(
      'more changes after the restart',
      async () => {
        const status = await statusJson(stateDir).catch(() => undefined);
        return status?.capture?.phase === 'streaming' && status.warehouse.rowsByTable.fact_sales_order > factsAfterFirst ? status : undefined;
      },
      150_000,
    ).catch((error) => {
      throw new Error(`${error.message}\n--- up output ---\n${again.output().slice(-3000)}`);
    });
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
    expect(again.output()).not.toMatch(/seeding totesys/);
  }, 480_000);
});
