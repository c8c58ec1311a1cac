import path from 'node:path';
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandContext } from '../../cli/context.js';
import { ConfigError } from '../../platform/errors.js';
import { loadConfig, SETTINGS } from '../../platform/config.js';

describe('loadConfig', () => {
  it('has working defaults: everything local under ./.totesys-cdc', () => {
    const config = loadConfig({}, {}, '/srv/app');
    expect(config.stateDir).toBe(path.resolve('/srv/app/.totesys-cdc'));
    expect(config.stream).toEqual({ kind: 'local', shards: 4 });
    expect(config.buckets).toEqual({ kind: 'local' });
    expect(config.capture.slotName).toBe('totesys_cdc');
    expect(Object.isFrozen(config.capture)).toBe(true);
  });

  it('takes flags over environment over defaults', () => {
    const env = { TOTESYS_STATE_DIR: '/env-state', TOTESYS_LOADER_INTERVAL_MS: '2500', TOTESYS_STREAM: 'kinesis' };
    const config = loadConfig({ stateDir: '/flag-state' }, env, '/');
    expect(config.stateDir).toBe('/flag-state');
    expect(config.loader.intervalMs).toBe(2500);
    expect(config.stream).toMatchObject({ kind: 'kinesis', streamName: 'totesys-cdc-changes', region: 'eu-west-2' });
  });

  it('names the setting, its flag and its variable when a value is bad', () => {
    expect(() => loadConfig({}, { TOTESYS_SOURCE_URL: 'mysql://x' })).toThrow(ConfigError);
    expect(() => loadConfig({}, { TOTESYS_SOURCE_URL: 'mysql://x' })).toThrow(/sourceUrl \(--source-url \/ TOTESYS_SOURCE_URL\)/);
    expect(() => loadConfig({ heartbeatIntervalMs: '60000' })).toThrow(/heartbeatIntervalMs.*at most 15000/);
    expect(() => loadConfig({ slotName: 'Bad-Name' })).toThrow(/slotName/);
    expect(() => loadConfig({ stream: 'kafka' })).toThrow(/--stream \/ TOTESYS_STREAM/);
  });

  it('declares every setting with a flag and an environment variable', () => {
    const envs = new Set(SETTINGS.map((s) => s.env));
    expect(envs.size).toBe(SETTINGS.length);
    for (const s of SETTINGS) expect(s.flag.startsWith('--')).toBe(true);
  });

  it('hands a child process exactly its config through childEnv (the capture rebuilds it from there)', () => {
    const config = loadConfig({ slotName: 'flag_slot', heartbeatIntervalMs: '5000', stream: 'kinesis', stateDir: 'rel' }, { TOTESYS_LOG_LEVEL: 'warn' }, '/srv/app');
    expect(config.childEnv).toMatchObject({ TOTESYS_SLOT_NAME: 'flag_slot', TOTESYS_HEARTBEAT_INTERVAL_MS: '5000', TOTESYS_LOG_LEVEL: 'warn', TOTESYS_STATE_DIR: '/srv/app/rel' });
    expect(loadConfig({}, config.childEnv, '/elsewhere')).toEqual(config);
    expect(Object.isFrozen(config.childEnv)).toBe(true);
  });

  it('commandContext reads flags over the environment once and never writes process.env', () => {
    const program = new Command('t').exitOverride();
    for (const setting of SETTINGS) program.addOption(new Option(setting.flag, setting.description));
    let context: ReturnType<typeof commandContext> | undefined;
    program.command('run').action((_options: unknown, command: Command) => {
      context = commandContext(command, 'test', { TOTESYS_SLOT_NAME: 'env_slot', TOTESYS_LOG_LEVEL: 'error' });
    });
    const before = { ...process.env };
    program.parse(['node', 't', '--log-level', 'silent', '--stream-shards', '8', 'run']);
    expect(process.env).toEqual(before);
    expect(context?.config).toMatchObject({ logLevel: 'silent', stream: { kind: 'local', shards: 8 }, capture: { slotName: 'env_slot' } });
  });
});
