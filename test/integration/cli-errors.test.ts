import { describe, expect, it } from 'vitest';
import { adminUrl } from '../support/postgres.js';
import { runCli } from '../support/cli.js';

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

describe('CLI', () => {
  it('prints help for the program and every command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['up', 'sync', 'status', 'seed', 'simulate', 'replay', 'teardown']) expect(top.stdout).toContain(command);
    expect(top.stdout).toContain('TOTESYS_SOURCE_URL');
    const seed = await runCli(['seed', '--help']);
    expect(seed.code).toBe(0);
    expect(seed.stdout).toContain('--scale');
    const resnapshot = await runCli(['resnapshot', '--help']);
    expect(resnapshot.code).toBe(0);
    expect(resnapshot.stdout).toContain('--table <table>');
    const badTable = await runCli(['resnapshot', '--table', 'nope']);
    expect(badTable.code).toBe(2);
    expect(badTable.stderr).toMatch(/--table nope is not a captured table; one of: address, /);
  });

  it('rejects a bad setting with one clear line naming the flag and variable', async () => {
    const result = await runCli(['status'], { env: { TOTESYS_STREAM: 'kafka' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid stream \(--stream \/ TOTESYS_STREAM\)/);
    noStack(result.stderr);
  });

  it('rejects a bad flag value before doing anything, with the usage exit code 2', async () => {
    const result = await runCli(['seed', '--scale', 'lots']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--scale must be a positive number/);
    const lanes = await runCli(['replay', '--rebuild', '--lanes', '0']);
    expect(lanes.code).toBe(2);
    expect(lanes.stderr).toMatch(/--lanes must be a whole number from 1 to 16/);
    expect((await runCli(['no-such-command'])).code).toBe(2);
  });

  it('says clearly when --source-url is unreachable, without leaking the password', async () => {
    const url = 'postgresql://shop:hunter2secret@127.0.0.1:9/totesys';
    const result = await runCli(['seed', '--source-url', url, '--warehouse-url', url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot connect to postgresql://shop:***@127.0.0.1:9/totesys (--source-url / TOTESYS_SOURCE_URL)');
    expect(result.stderr + result.stdout).not.toContain('hunter2secret');
    noStack(result.stderr);
  });

  it('fails fast on wrong credentials', async () => {
    const url = new URL(adminUrl());
    url.password = 'definitely-wrong';
    const started = Date.now();
    const result = await runCli(['seed', '--source-url', url.toString(), '--warehouse-url', url.toString()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/authentication failed for .*:\*\*\*@.*check the user and password/);
    expect(result.stderr).not.toContain('definitely-wrong');
    expect(Date.now() - started).toBeLessThan(15_000);
    noStack(result.stderr);
  });
});
