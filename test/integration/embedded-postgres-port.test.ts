import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../platform/logger.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../runtime/embedded-postgres.js';
import { freePort } from '../../runtime/free-port.js';

/**
 * The port freePort hands out can be taken by another process before the postmaster binds it (a CI
 * run of many Postgres tests makes connections all the time, each with a local port). Here the
 * race is made certain: the first port handed out is held by a listener of this test.
 */
describe('embedded Postgres: a picked port taken before the bind', () => {
  let root: string;
  let holder: net.Server;
  let takenPort: number;
  let server: RunningPostgres | undefined;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'embedded-port-'));
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    takenPort = (holder.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => holder.close(resolve));
    await fs.rm(root, { recursive: true, force: true });
  });

  it('starts on another port it picks itself, and connects there', async () => {
    const handedOut: number[] = [];
    const pickPort = async () => {
      const port = handedOut.length === 0 ? takenPort : await freePort();
      handedOut.push(port);
      return port;
    };
    server = await startEmbeddedPostgres({ dataDir: path.join(root, 'postgres'), logger: silentLogger, settings: { fsync: 'off' }, pickPort });
    expect(handedOut.length).toBe(2);
    expect(server.port).toBe(handedOut[1]);
    expect(server.port).not.toBe(takenPort);
    const client = new pg.Client({ connectionString: server.url('postgres') });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
    await server.stop();
    server = undefined;
  });

  it('does not move a port the caller fixed: that failure says what happened', async () => {
    const error = await startEmbeddedPostgres({ dataDir: path.join(root, 'postgres'), logger: silentLogger, settings: { fsync: 'off' }, port: takenPort }).then(
      (started) => {
        server = started;
        return undefined;
      },
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/embedded Postgres failed to start .*Address already in use|could not create any TCP\/IP sockets/);
  });
});
