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

  it('declares every setting with an environment variable, and a flag unless the deployment alone sets it', () => {
    const envs = new Set(SETTINGS.map((s) => s.env));
    expect(envs.size).toBe(SETTINGS.length);
    for (const s of SETTINGS) expect(s.env).toMatch(/^(TOTESYS_[A-Z0-9_]+|AWS_REGION)$/);
    for (const s of SETTINGS.filter((x) => x.flag !== undefined)) expect(s.flag!.startsWith('--')).toBe(true);
    expect(SETTINGS.filter((x) => x.flag === undefined).map((x) => x.env)).toEqual(expect.arrayContaining(['TOTESYS_CAPTURE_STATUS_FILE', 'TOTESYS_METRICS', 'TOTESYS_PARENT_PID', 'TOTESYS_WAREHOUSE_SECRET_ARN']));
  });

  it('reads the settings only the environment gives (capture process, AWS operations), validated', () => {
    const config = loadConfig({}, { TOTESYS_CAPTURE_STATUS_FILE: '/tmp/s.json', TOTESYS_METRICS: 'emf', TOTESYS_PARENT_PID: '42', TOTESYS_PROCESSOR_DLQ_URL: 'https://sqs.eu-west-2.amazonaws.com/1/dlq', TOTESYS_SQS_ENDPOINT: 'http://127.0.0.1:9324' });
    expect(config.captureProcess).toEqual({ statusFile: '/tmp/s.json', metrics: 'emf', parentPid: 42 });
    expect(config.operations).toMatchObject({ processorDlqUrl: 'https://sqs.eu-west-2.amazonaws.com/1/dlq', sqsEndpoint: 'http://127.0.0.1:9324' });
    expect(loadConfig({}, {}).captureProcess).toEqual({ statusFile: undefined, metrics: 'none', parentPid: undefined });
    expect(() => loadConfig({}, { TOTESYS_METRICS: 'prometheus' })).toThrow(/invalid metrics \(TOTESYS_METRICS\)/);
    expect(() => loadConfig({}, { TOTESYS_PARENT_PID: 'abc' })).toThrow(/parentPid \(TOTESYS_PARENT_PID\)/);
  });

  it('builds a database URL from the secret fields ECS injects, escaping what needs it and leaving TLS to PGSSLMODE', () => {
    const fields = { TOTESYS_WAREHOUSE_HOST: 'wh.abc.eu-west-2.rds.amazonaws.com', TOTESYS_WAREHOUSE_PORT: '5433', TOTESYS_WAREHOUSE_DB: 'ware house', TOTESYS_WAREHOUSE_USER: 'load@er', TOTESYS_WAREHOUSE_PASSWORD: 'p:a/s?s#w%rd' };
    const url = new URL(loadConfig({}, fields).warehouseUrl!);
    expect(url.hostname).toBe('wh.abc.eu-west-2.rds.amazonaws.com');
    expect(url.port).toBe('5433');
    expect(decodeURIComponent(url.pathname.slice(1))).toBe('ware house');
    expect(decodeURIComponent(url.username)).toBe('load@er');
    expect(decodeURIComponent(url.password)).toBe('p:a/s?s#w%rd');
    expect(url.search).toBe('');
    const source = loadConfig({}, { TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_DB: 'd', TOTESYS_SOURCE_USER: 'u', TOTESYS_SOURCE_PASSWORD: 'p' }).sourceUrl!;
    expect(source).toBe('postgresql://u:p@h:5432/d');
  });

  it('prefers a URL given explicitly, leaves a secret ARN to the code that reads it, and names missing fields without echoing values', () => {
    expect(loadConfig({}, { TOTESYS_SOURCE_URL: 'postgresql://a:b@h/db', TOTESYS_SOURCE_HOST: 'other' }).sourceUrl).toBe('postgresql://a:b@h/db');
    // A Lambda gets the endpoint and the secret's ARN, never the password: no URL here.
    const lambda = loadConfig({}, { TOTESYS_WAREHOUSE_HOST: 'wh', TOTESYS_WAREHOUSE_DB: 'w', TOTESYS_WAREHOUSE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:1:secret:x' });
    expect(lambda.warehouseUrl).toBeUndefined();
    expect(lambda.databaseFields.warehouse).toMatchObject({ host: 'wh', database: 'w', secretArn: 'arn:aws:secretsmanager:eu-west-2:1:secret:x' });
    expect(() => loadConfig({}, { TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_PASSWORD: 'hunter2' })).toThrow('TOTESYS_SOURCE_HOST is set but TOTESYS_SOURCE_DB, TOTESYS_SOURCE_USER are not');
    expect(() => loadConfig({}, { TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_PASSWORD: 'hunter2' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({}, { TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_DB: 'd', TOTESYS_SOURCE_USER: 'u', TOTESYS_SOURCE_PASSWORD: 'p', TOTESYS_SOURCE_PORT: 'x' })).toThrow(/sourcePort \(TOTESYS_SOURCE_PORT\)/);
    expect(loadConfig({}, {}).sourceUrl).toBeUndefined();
  });

  it('hands a child process exactly its config through childEnv (the capture rebuilds it from there)', () => {
    const config = loadConfig({ slotName: 'flag_slot', heartbeatIntervalMs: '5000', stream: 'kinesis', stateDir: 'rel' }, { TOTESYS_LOG_LEVEL: 'warn' }, '/srv/app');
    expect(config.childEnv).toMatchObject({ TOTESYS_SLOT_NAME: 'flag_slot', TOTESYS_HEARTBEAT_INTERVAL_MS: '5000', TOTESYS_LOG_LEVEL: 'warn', TOTESYS_STATE_DIR: '/srv/app/rel' });
    expect(loadConfig({}, config.childEnv, '/elsewhere')).toEqual(config);
    expect(Object.isFrozen(config.childEnv)).toBe(true);
  });

  it('commandContext reads flags over the environment once and never writes process.env', () => {
    const program = new Command('t').exitOverride();
    for (const setting of SETTINGS) if (setting.flag) program.addOption(new Option(setting.flag, setting.description));
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
