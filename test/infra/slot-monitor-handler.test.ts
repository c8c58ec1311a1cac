import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSlotMonitorHandler, sourceUrlFromSecret } from '../../monitor/lambda/slot-monitor-handler.js';
import { loadConfig } from '../../platform/config.js';
import { METRICS_NAMESPACE } from '../../platform/metrics.js';
import { silentLogger } from '../../platform/logger.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

/**
 * The slot monitor against the real embedded Postgres: the same slot the capture would hold,
 * measured from the database side, published in the capture's metric name and dimension.
 */
let db: TestDatabase;
const slotName = `slot_monitor_${process.pid}`;

beforeAll(async () => {
  db = await createTestDatabase('slot_monitor');
  await withClient(db.url, async (client) => {
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slotName]);
    // WAL written after the slot's confirmed position: the lag the monitor must see.
    // The test cluster runs synchronous_commit=off: without this, the WAL writer may not have written
    // the rows yet when the lag is read (pg_current_wal_lsn is the write position), so the lag would
    // depend on timing.
    await client.query('SET synchronous_commit = on');
    await client.query('CREATE TABLE filler (id int primary key, body text)');
    await client.query(`INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g`);
  });
});

afterAll(async () => {
  await withClient(db.url, (client) => client.query('SELECT pg_drop_replication_slot($1)', [slotName])).catch(() => undefined);
  await db.drop();
});

/** The RDS-managed master secret shape (username and password only) plus the endpoint as variables. */
function rdsManagedSetup(overrides: Record<string, string> = {}) {
  const url = new URL(db.url);
  const secret = JSON.stringify({ username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
  // The Lambda's environment as the stack sets it (infra/constructs/slot-monitor.ts), read by the config.
  const env = { TOTESYS_SOURCE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:src', TOTESYS_SOURCE_HOST: url.hostname, TOTESYS_SOURCE_PORT: url.port, TOTESYS_SOURCE_DB: db.name, TOTESYS_SLOT_NAME: slotName, ...overrides };
  return { secret, env, config: loadConfig({}, env) };
}

describe('slot monitor Lambda handler', () => {
  it('publishes the slot lag in bytes as EMF under the capture metric name and SlotName dimension', async () => {
    const { secret, env, config } = rdsManagedSetup();
    const lines: string[] = [];
    const readArns: string[] = [];
    const handler = createSlotMonitorHandler({ readSecret: async (arn) => (readArns.push(arn), secret), writeMetric: (l) => lines.push(l), logger: silentLogger, config, now: () => 1_700_000_000_000 });
    const result = await handler();
    expect(readArns).toEqual([env.TOTESYS_SOURCE_SECRET_ARN]);
    expect(result).toEqual(expect.objectContaining({ slotName, exists: true, active: false }));
    const expected = await withClient(db.url, async (c) => Number((await c.query('SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::float8 AS lag FROM pg_replication_slots WHERE slot_name = $1', [slotName])).rows[0].lag));
    expect(result.lagBytes).toBeGreaterThan(100_000); // 2,000 rows of 200 bytes went into WAL after the slot
    expect(result.lagBytes).toBeLessThanOrEqual(expected);
    expect(lines).toHaveLength(2);
    const emf = JSON.parse(lines[0]!);
    expect(emf._aws).toEqual({
      Timestamp: 1_700_000_000_000,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['SlotName']], Metrics: [{ Name: 'slotLagBytes', Unit: 'Bytes' }] }],
    });
    expect(emf).toEqual(expect.objectContaining({ SlotName: slotName, slotLagBytes: result.lagBytes, slotActive: false }));
    // The slot is not lost: slotLost 0, same namespace and dimension.
    expect(JSON.parse(lines[1]!)).toEqual(expect.objectContaining({ SlotName: slotName, slotLost: 0, lostReason: null }));
    expect(JSON.parse(lines[1]!)._aws.CloudWatchMetrics).toEqual([{ Namespace: METRICS_NAMESPACE, Dimensions: [['SlotName']], Metrics: [{ Name: 'slotLost', Unit: 'Count' }] }]);
  });

  it('publishes no lag for a slot that does not exist, so the lag alarm sees missing data; never created is not lost', async () => {
    const { secret, config } = rdsManagedSetup({ TOTESYS_SLOT_NAME: 'no_such_slot' });
    const lines: string[] = [];
    const handler = createSlotMonitorHandler({ readSecret: async () => secret, writeMetric: (l) => lines.push(l), logger: silentLogger, config });
    expect(await handler()).toEqual(expect.objectContaining({ exists: false, lagBytes: null, lost: null }));
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ SlotName: 'no_such_slot', slotLost: 0 })]);
  });

  it('reads slotLost 1 for a slot whose snapshot had completed (the publication marker says so) but that is gone', async () => {
    await withClient(db.url, async (c) => {
      await c.query('CREATE TABLE IF NOT EXISTS t_marker (id int primary key)');
      await c.query('CREATE PUBLICATION lost_pub FOR TABLE t_marker');
      await c.query(`COMMENT ON PUBLICATION lost_pub IS 'totesys-cdc snapshot complete slot=gone_slot lsn=0/1000'`);
    });
    const { secret, config } = rdsManagedSetup({ TOTESYS_SLOT_NAME: 'gone_slot', TOTESYS_PUBLICATION_NAME: 'lost_pub' });
    const lines: string[] = [];
    const handler = createSlotMonitorHandler({ readSecret: async () => secret, writeMetric: (l) => lines.push(l), logger: silentLogger, config });
    expect(await handler()).toEqual(expect.objectContaining({ exists: false, lost: 'missing' }));
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ SlotName: 'gone_slot', slotLost: 1, lostReason: 'missing' })]);
  });

  it('fails (a Lambda error, no metric) when it cannot log in', async () => {
    const { config } = rdsManagedSetup();
    const url = new URL(db.url);
    const lines: string[] = [];
    const handler = createSlotMonitorHandler({ readSecret: async () => JSON.stringify({ username: decodeURIComponent(url.username), password: 'wrong-password' }), writeMetric: (l) => lines.push(l), logger: silentLogger, config });
    await expect(handler()).rejects.toThrow(/password/);
    expect(lines).toEqual([]);
  });
});

describe('slot monitor Lambda handler: its settings', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads them once, from the environment through the config, and names a bad one before reading any secret', async () => {
    vi.stubEnv('TOTESYS_SOURCE_SECRET_ARN', 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:src');
    vi.stubEnv('TOTESYS_SLOT_NAME', 'Not-An-Identifier');
    const readArns: string[] = [];
    const handler = createSlotMonitorHandler({ readSecret: async (arn) => (readArns.push(arn), '{}'), writeMetric: () => undefined, logger: silentLogger });
    await expect(handler()).rejects.toThrow(/invalid slotName \(--slot-name \/ TOTESYS_SLOT_NAME\)/);
    expect(readArns).toEqual([]);
  });

  it('without TOTESYS_SOURCE_SECRET_ARN: says what to set', async () => {
    vi.stubEnv('TOTESYS_SOURCE_SECRET_ARN', '');
    const handler = createSlotMonitorHandler({ readSecret: async () => '{}', writeMetric: () => undefined, logger: silentLogger });
    await expect(handler()).rejects.toThrow(/TOTESYS_SOURCE_SECRET_ARN is not set: set it to the ARN of the source secret/);
  });

  it('keeps the config it read: a later change of the environment does not reach a warm container', async () => {
    const { secret, env } = rdsManagedSetup();
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const handler = createSlotMonitorHandler({ readSecret: async () => secret, writeMetric: () => undefined, logger: silentLogger });
    expect(await handler()).toEqual(expect.objectContaining({ slotName, exists: true }));
    vi.stubEnv('TOTESYS_SLOT_NAME', 'no_such_slot');
    expect(await handler()).toEqual(expect.objectContaining({ slotName, exists: true }));
  });
});

describe('sourceUrlFromSecret', () => {
  it('takes host, port and database from the RDS JSON secret, the variables winning', () => {
    const secret = JSON.stringify({ host: 'db.internal', port: 5433, dbname: 'totesys', username: 'cdc', password: 'p@ss/word' });
    expect(sourceUrlFromSecret(secret, {})).toBe('postgresql://cdc:p%40ss%2Fword@db.internal:5433/totesys');
    expect(sourceUrlFromSecret(secret, { host: 'other', database: 'x' })).toBe('postgresql://cdc:p%40ss%2Fword@other:5433/x');
  });

  it('names what is missing and never echoes the secret', () => {
    expect(() => sourceUrlFromSecret(JSON.stringify({ username: 'cdc', password: 'hunter2' }), {})).toThrow(/host, database missing/);
    expect(() => sourceUrlFromSecret('not json hunter2', {})).toThrow(/not JSON/);
    try {
      sourceUrlFromSecret('not json hunter2', {});
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });
});
