import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPostgresAccess, PostgresAccessError } from '../../runtime/postgres-access-check.js';

/**
 * As root, the embedded Postgres runs as the `postgres` OS user; a clone inside a 0700 directory
 * used to fail with a bare EACCES from initdb. These run only as root (as CI does).
 */
const asRoot = os.userInfo().uid === 0;
const postgresUser = { name: 'postgres', uid: 424_242, gids: [424_242] }; // owns nothing here

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'access-check-'));
  await fs.chmod(root, 0o755);
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function fakeBinary(dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'native', 'bin'), { recursive: true });
  await fs.mkdir(path.join(dir, 'native', 'lib'), { recursive: true });
  const binary = path.join(dir, 'native', 'bin', 'postgres');
  await fs.writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
  return binary;
}

describe.runIf(asRoot)('postgres access check (as root)', () => {
  it('passes for the real binaries and a fresh data directory', async () => {
    await expect(checkPostgresAccess(path.join(root, 'state', 'postgres'))).resolves.toBeUndefined();
  });

  it('names, in one line, every 0700 directory between the postgres user and the binaries, and what to run', async () => {
    const home = path.join(root, 'home');
    await fs.mkdir(path.join(home, 'clone'), { recursive: true });
    await fs.chmod(home, 0o700);
    const binary = await fakeBinary(path.join(home, 'clone', 'node_modules'));
    const error = await checkPostgresAccess(path.join(root, 'state', 'postgres'), { binary, identity: postgresUser }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresAccessError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`${home} 0700 uid 0`);
    expect(message).toContain(`chmod o+x ${home}`);
    expect(message).toMatch(/binaries .*clone the project where that user can read it/);
  });

  it('points at the state directory when the data directory is not writable by the postgres user', async () => {
    const binary = await fakeBinary(path.join(root, 'opt'));
    const dataDir = path.join(root, 'state', 'postgres');
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    const error = await checkPostgresAccess(dataDir, { binary, identity: postgresUser }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresAccessError);
    expect((error as Error).message).toMatch(/cannot reach its data directory .*TOTESYS_STATE_DIR/);
    // The same directory owned by the postgres user is fine.
    await expect(checkPostgresAccess(dataDir, { binary, identity: { ...postgresUser, uid: 0 } })).resolves.toBeUndefined();
  });
});
