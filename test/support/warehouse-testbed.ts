import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export interface WarehouseTestbed {
  db: TestDatabase;
  /** A temp dir for buckets and state, removed with the testbed. */
  dir: string;
  /** Connected to `db`. */
  client: pg.Client;
}

/**
 * A fresh database, a connected client and a temp dir for the tests of one `describe` (call it
 * there): created before the first test, removed after the last. Read the fields inside tests.
 */
export function useWarehouseTestbed(label: string): WarehouseTestbed {
  const testbed = {} as WarehouseTestbed;
  beforeAll(async () => {
    testbed.db = await createTestDatabase(label);
    testbed.dir = await fs.mkdtemp(path.join(os.tmpdir(), `${label.replace(/_/g, '-')}-`));
    testbed.client = new pg.Client({ connectionString: testbed.db.url });
    await testbed.client.connect();
  });
  afterAll(async () => {
    await testbed.client?.end();
    await testbed.db?.drop();
    if (testbed.dir) await fs.rm(testbed.dir, { recursive: true, force: true });
  });
  return testbed;
}
