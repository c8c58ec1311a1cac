import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresPool } from '../../platform/postgres-client.js';
import { createTestDatabase, withAdmin, type TestDatabase } from '../support/postgres.js';

const CHILD = path.resolve(import.meta.dirname, '../support/terminated-connection-child.ts');

function runChild(url: string, mode: 'factory' | 'raw'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('postgres_client');
});
afterAll(async () => {
  await db?.drop();
});

describe('Postgres connection factory', () => {
  it('survives pg_terminate_backend of an idle client and reports a retryable error (a bare pg.Client dies of it)', async () => {
    const raw = await runChild(db.url, 'raw');
    expect(raw.code, raw.stderr).not.toBe(0);
    expect(raw.stdout).toBe('');
    expect(raw.stderr).toMatch(/terminating connection|Connection terminated/);

    const guarded = await runChild(db.url, 'factory');
    expect(guarded.code, guarded.stderr).toBe(0);
    expect(JSON.parse(guarded.stdout)).toMatchObject({ outcome: 'query failed', category: 'retryable', name: 'PostgresConnectionError' });
  });

  it('sets application_name, and a pool survives its idle clients being terminated', async () => {
    const pool = createPostgresPool({ url: db.url, applicationName: 'totesys-cdc-test-pool', max: 2 });
    try {
      const held = await pool.connect();
      held.release();
      await withAdmin((admin) =>
        admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'totesys-cdc-test-pool' AND datname = $1`, [db.name]),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The dropped idle client was discarded; a new checkout works.
      const { rows } = await pool.query<{ name: string }>('SELECT current_setting($1) AS name', ['application_name']);
      expect(rows[0].name).toBe('totesys-cdc-test-pool');
    } finally {
      await pool.end();
    }
  });

});
