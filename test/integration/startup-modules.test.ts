import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const PRELOAD = pathToFileURL(path.join(REPO_ROOT, 'test/support/loaded-modules-preload.mjs')).href;

/** Each thread's loaded CommonJS modules, by `<pid>-<threadId>`, from the preload's files in `dir`. */
async function loadedModules(dir: string): Promise<Map<string, string[]>> {
  const threads = new Map<string, string[]>();
  for (const file of await fs.readdir(dir)) threads.set(file.replace(/\.txt$/, ''), (await fs.readFile(path.join(dir, file), 'utf8')).split('\n').filter(Boolean));
  return threads;
}

const awsSdk = (modules: string[]) => modules.filter((m) => /[\\/]node_modules[\\/]@aws-sdk[\\/]/.test(m));

/**
 * Issue 15, start-up: the local path (local log, directory buckets, local join state) loads no AWS
 * SDK module in any process or thread: the SDK cost every `sync` about 0.3 s in the CLI and again
 * in the processor worker. Each command runs as the real CLI with a preload recording what each
 * thread loaded.
 */
describe('start-up on the local path', () => {
  let source: TestDatabase;
  let warehouse: TestDatabase;
  let stateDir: string;
  let args: string[];
  const dirs: string[] = [];

  /** Runs the CLI with the recording preload; returns the result and each thread's modules. */
  async function traced(cliArgs: string[]) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'startup-modules-'));
    dirs.push(dir);
    const result = await runCli(cliArgs, { env: { NODE_OPTIONS: `--import ${PRELOAD}`, LOADED_MODULES_DIR: dir }, timeoutMs: 120_000 });
    return { result, threads: await loadedModules(dir) };
  }

  beforeAll(async () => {
    [source, warehouse] = await Promise.all([createTestDatabase('startup modules source'), createTestDatabase('startup modules warehouse')]);
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-startup-'));
    dirs.push(stateDir);
    const slot = `sm_${randomBytes(4).toString('hex')}`;
    args = ['--state-dir', stateDir, '--source-url', source.url, '--warehouse-url', warehouse.url, '--slot-name', slot, '--publication-name', slot];
    const seeded = await runCli(['seed', '--create-source-schema', '--scale', '0.01', ...args], { timeoutMs: 60_000 });
    expect(seeded.code, seeded.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([source?.drop(), warehouse?.drop()]);
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('the recording sees the SDK when a process does load it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'startup-modules-'));
    dirs.push(dir);
    await promisify(execFile)(process.execPath, ['--import', PRELOAD, '--input-type=module', '-e', "await import('@aws-sdk/client-s3')"], { cwd: REPO_ROOT, env: { ...process.env, LOADED_MODULES_DIR: dir } });
    const [modules] = [...(await loadedModules(dir)).values()];
    expect(awsSdk(modules!)).toContainEqual(expect.stringMatching(/@aws-sdk[\\/]client-s3[\\/]/));
  });

  it('`--help` loads no AWS SDK module; from the cached bundle, no esbuild either (no TypeScript transform at start)', async () => {
    const warm = await runCli(['--help']); // makes the CLI's bundle if no valid one is cached
    expect(warm.code, warm.stderr).toBe(0);
    const { result, threads } = await traced(['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(warm.stdout);
    expect(threads.size).toBeGreaterThan(0);
    for (const [thread, modules] of threads) {
      expect(awsSdk(modules), thread).toEqual([]);
      expect(modules.filter((m) => /[\\/]node_modules[\\/](esbuild|tsx)[\\/]/.test(m)), thread).toEqual([]);
    }
    // The TypeScript sources through tsx (TOTESYS_CLI_BUNDLE=0, or no bundle could be made): the same CLI.
    const viaTsx = await runCli(['--help'], { env: { TOTESYS_CLI_BUNDLE: '0' } });
    expect(viaTsx.code, viaTsx.stderr).toBe(0);
    expect(viaTsx.stdout).toBe(warm.stdout);
  });

  it('`sync` loads none, in the CLI nor in the processor worker; `status` none either', async () => {
    const sync = await traced(['sync', ...args]);
    expect(sync.result.code, sync.result.stderr).toBe(0);
    expect(JSON.parse(sync.result.stdout).manifestsLoaded).toBeGreaterThan(0);
    // The main thread and the processor worker both ran under the preload (a worker thread's
    // threadId is not 0), so both lists are real.
    const ids = [...sync.threads.keys()].map((key) => Number(key.split('-')[1]));
    expect(ids).toContain(0);
    expect(ids.some((id) => id > 0)).toBe(true);
    for (const [thread, modules] of sync.threads) expect(awsSdk(modules), thread).toEqual([]);

    const status = await traced(['status', '--json', ...args]);
    expect(status.result.code, status.result.stderr).toBe(0);
    for (const [thread, modules] of status.threads) expect(awsSdk(modules), thread).toEqual([]);
  }, 180_000);
});
