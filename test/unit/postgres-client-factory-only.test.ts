import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

/**
 * Issue 14 item 7: a long-running process must never die of a dropped connection. Every pg client
 * and pool of the product comes from platform/postgres-client.ts, which gives each an 'error'
 * listener from birth and turns a drop into a retryable PostgresConnectionError. A `new pg.Client`
 * elsewhere would have no listener: the next server restart would crash its process with
 * "Unhandled 'error' event … Connection terminated unexpectedly".
 */
const PRODUCT_DIRS = ['archive', 'bucket', 'capture', 'cli', 'contracts', 'dashboard', 'loader', 'monitor', 'ops', 'parquet', 'platform', 'replay', 'runtime', 'stream', 'stream-processors', 'totesys'];
const ALLOWED: Record<string, string> = {
  'platform/postgres-client.ts': 'the factory itself',
};
const RAW_CONSTRUCTION = /new\s+(?:pg\.)?(?:Client|Pool)\s*\(/;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (entry.isFile() && /\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.parentPath.includes('node_modules') && !entry.parentPath.includes('cdk.out')) {
      out.push(path.relative(REPO_ROOT, path.join(entry.parentPath, entry.name)));
    }
  }
  return out;
}

describe('Postgres connections come from the one factory', () => {
  it('no product file constructs a pg Client or Pool itself', async () => {
    const offenders: string[] = [];
    for (const dir of PRODUCT_DIRS) {
      for (const file of await sourceFiles(dir)) {
        if (ALLOWED[file]) continue;
        const text = await fs.readFile(path.join(REPO_ROOT, file), 'utf8');
        if (/from ['"]pg['"]/.test(text) && RAW_CONSTRUCTION.test(text)) offenders.push(file);
      }
    }
    expect(offenders, 'use createPostgresClient / createPostgresPool (platform/postgres-client.ts)').toEqual([]);
  });
});
