import fs from 'node:fs/promises';
import path from 'node:path';
import { silentLogger } from '../platform/logger.js';
import { isProcessAlive } from '../platform/process-alive.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../runtime/embedded-postgres.js';
import { freePort } from '../runtime/free-port.js';

/**
 * The soak's own Postgres cluster (source and warehouse databases of every trial), never the shared
 * test cluster: the soak restarts it under the pipeline. The port stays the same across restarts,
 * so the URLs the pipeline processes hold stay valid, as for a real server restart.
 */
export type RestartMode = 'fast' | 'immediate';

export interface SoakCluster {
  url(database: string): string;
  /** Stops the server (fast: SIGINT, sessions ended and a checkpoint; immediate: SIGQUIT, crash recovery on start) and starts it again. */
  restart(mode: RestartMode): Promise<void>;
  stop(): Promise<void>;
}

const SETTINGS = { fsync: 'off', full_page_writes: 'off', max_wal_size: '1GB', max_connections: 300 };

export async function startSoakCluster(root: string): Promise<SoakCluster> {
  const dataDir = path.join(root, 'postgres');
  const port = await freePort();
  let server: RunningPostgres = await startEmbeddedPostgres({ dataDir, logger: silentLogger, settings: SETTINGS, port });
  return {
    url: (database) => server.url(database),
    async restart(mode) {
      const pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      for (let i = 0; i < 600 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      if (isProcessAlive(pid)) throw new Error(`the soak's Postgres (pid ${pid}) did not stop after a ${mode} shutdown`);
      server = await startEmbeddedPostgres({ dataDir, logger: silentLogger, settings: SETTINGS, port });
    },
    stop: () => server.stop(),
  };
}
