import { randomBytes } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduleHandler } from '../../loader/lambda/schedule-handler.js';
import { WarehouseAuthenticationError } from '../../loader/lambda/warehouse-secret.js';
import { silentLogger } from '../../platform/logger.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../support/secrets-manager-stand-in.js';
import { createTestDatabase, withAdmin, type TestDatabase } from '../support/postgres.js';
import { createProcessedBucket, paymentFact, writeBatch, type ProcessedBucket } from '../support/processed-batch-factory.js';

const event = { id: 'evt-rotation', 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:warehouse-loader';

describe('loader Lambda: warehouse secret rotation', () => {
  const role = `t_loader_rotation_${randomBytes(3).toString('hex')}`;
  let db: TestDatabase;
  let bucket: ProcessedBucket;
  let secrets: SecretsManagerStandIn;

  const secretJson = (password: string) => {
    const u = new URL(db.url);
    return JSON.stringify({ engine: 'postgres', host: u.hostname, port: Number(u.port), username: role, password, dbname: db.name });
  };
  /** Rotation as the database sees it: a new password, and the pool's idle connections gone (they time out within seconds in production). */
  const rotatePassword = (password: string) =>
    withAdmin(async (c) => {
      await c.query(`ALTER ROLE ${role} PASSWORD '${password}'`);
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
    });

  beforeAll(async () => {
    db = await createTestDatabase('loader_rotation');
    bucket = await createProcessedBucket();
    secrets = await startSecretsManagerStandIn();
    await withAdmin(async (c) => {
      await c.query(`CREATE ROLE ${role} WITH LOGIN PASSWORD 'first-password'`);
      await c.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
    });
  });
  afterAll(async () => {
    await db.drop();
    await withAdmin((c) => c.query(`DROP ROLE IF EXISTS ${role}`));
    await bucket.cleanup();
    await secrets.stop();
  });

  it('re-reads a rotated secret after an authentication failure and loads; an unchanged secret is a permanent error, read once', async () => {
    secrets.set(SECRET_ARN, secretJson('first-password'));
    const handler = createScheduleHandler({
      getSecret: async (arn) => (await secrets.client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString,
      openProcessedStore: () => bucket.store,
      env: { TOTESYS_WAREHOUSE_SECRET_ARN: SECRET_ARN },
      logger: silentLogger,
      writeMetrics: () => undefined,
    });

    await writeBatch(bucket.store, { fact_payment: [paymentFact(1, 10n)] });
    expect(await handler(event)).toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    expect(secrets.requests()).toBe(1);

    // Rotation: Secrets Manager and the database both move to the new password.
    await rotatePassword('second-password');
    secrets.set(SECRET_ARN, secretJson('second-password'));
    await writeBatch(bucket.store, { fact_payment: [paymentFact(2, 20n)] });
    expect(await handler(event)).toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    expect(secrets.requests()).toBe(2); // re-read once, on the authentication failure

    // The password changes but the secret does not (a broken rotation): permanent, no loop.
    await rotatePassword('third-password');
    await writeBatch(bucket.store, { fact_payment: [paymentFact(3, 30n)] });
    const failure = await handler(event).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WarehouseAuthenticationError);
    expect(failure).toMatchObject({ retryable: false, message: expect.stringContaining('the secret has not changed') });
    expect((failure as Error).message).not.toContain('third-password');
    expect(secrets.requests()).toBe(3);

    // Once the secret is fixed, the next scheduled run loads what is pending.
    secrets.set(SECRET_ARN, secretJson('third-password'));
    expect(await handler(event)).toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    expect(secrets.requests()).toBe(4);
    expect(await handler(event)).toMatchObject({ status: 'completed', manifestsLoaded: 0 });
    expect(secrets.requests()).toBe(4);
  });

  it('an RDS-managed secret (username and password only) takes the endpoint from TOTESYS_WAREHOUSE_HOST / _PORT / _DB', async () => {
    const arn = `${SECRET_ARN}-managed`;
    const u = new URL(db.url);
    secrets.set(arn, JSON.stringify({ username: role, password: 'third-password' }));
    const handler = createScheduleHandler({
      getSecret: async (id) => (await secrets.client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString,
      openProcessedStore: () => bucket.store,
      env: { TOTESYS_WAREHOUSE_SECRET_ARN: arn, TOTESYS_WAREHOUSE_HOST: u.hostname, TOTESYS_WAREHOUSE_PORT: u.port, TOTESYS_WAREHOUSE_DB: db.name },
      logger: silentLogger,
      writeMetrics: () => undefined,
    });
    await writeBatch(bucket.store, { fact_payment: [paymentFact(4, 40n)] });
    expect(await handler(event)).toMatchObject({ status: 'completed', manifestsLoaded: 1 });
    const without = createScheduleHandler({ getSecret: async () => JSON.stringify({ username: role, password: 'x' }), openProcessedStore: () => bucket.store, env: { TOTESYS_WAREHOUSE_SECRET_ARN: arn }, logger: silentLogger });
    await expect(without(event)).rejects.toThrow(/host \(not in the secret, and TOTESYS_WAREHOUSE_HOST is not set\)/);
  });
});
