import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

describe('embedded Postgres test cluster', () => {
  let db: TestDatabase;
  afterAll(() => db?.drop());

  it('runs Postgres 17 with logical WAL', async () => {
    db = await createTestDatabase('embedded pg');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT current_setting('wal_level') AS wal, current_setting('server_version_num')::int AS v");
      expect(rows[0].wal).toBe('logical');
      expect(rows[0].v).toBeGreaterThanOrEqual(170000);
    } finally {
      await client.end();
    }
  });
});
