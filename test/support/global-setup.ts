import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { errorMessage } from '../../platform/errors.js';
import { createLogger } from '../../platform/logger.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../runtime/embedded-postgres.js';

/**
 * One real embedded Postgres for the whole test run (no DB mocks); each test file creates its own
 * databases on it (see ./postgres.ts). Tests that must restart Postgres start their own cluster.
 */
let server: RunningPostgres | undefined;
let root: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  try {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-test-'));
    server = await startEmbeddedPostgres({
      dataDir: path.join(root, 'postgres'),
      logger: createLogger({ service: 'test-postgres', level: 'warn' }),
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
  } catch (error) {
    // Vitest may print nothing for a failed global setup: say it here, in one line, then fail.
    const line = `test setup failed: the shared embedded Postgres did not start: ${errorMessage(error)}`;
    process.stderr.write(`\n${line}\n\n`);
    throw new Error(line, { cause: error });
  }
  project.provide('postgresAdminUrl', server.url('postgres'));
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (root) await fs.rm(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}
