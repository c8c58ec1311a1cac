import fs from 'node:fs/promises';
import pg from 'pg';
import type { Config } from '../platform/config.js';
import { AuthenticationError, UserError, isAuthenticationFailure } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { redactUrl } from '../platform/redact.js';
import { ensureDatabase, startEmbeddedPostgres } from './embedded-postgres.js';
import { acquireInstanceLock, readLiveLock, type InstanceLock } from './instance-lock.js';
import { prepareStateDir } from './state-dir.js';

/**
 * Where totesys and the warehouse live for this command: external URLs when configured, otherwise
 * the embedded Postgres under the state directory — started here, or, when an `up` already runs on
 * the same state directory, that one (attached, never started twice).
 */
export interface Databases {
  sourceUrl: string;
  warehouseUrl: string;
  /** True when totesys is the embedded database (the project owns its schema). */
  embeddedSource: boolean;
  /** Stops what this command started (embedded Postgres, lock). */
  close(): Promise<void>;
}

export const SOURCE_DATABASE = 'totesys';
export const WAREHOUSE_DATABASE = 'warehouse';

export interface OpenDatabasesOptions {
  /** `up` must be the only owner; other commands attach to a running `up`. */
  exclusive: boolean;
  command: string;
}

export async function openDatabases(config: Config, logger: Logger, options: OpenDatabasesOptions): Promise<Databases> {
  await prepareStateDir(config.stateDir);
  const needEmbedded = !config.sourceUrl || !config.warehouseUrl;
  let lock: InstanceLock | undefined;
  let embeddedUrl: ((db: string) => string) | undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;

  if (needEmbedded) {
    const running = options.exclusive ? undefined : await readLiveLock(config.paths.lockFile);
    if (running?.postgresPort) {
      const password = (await fs.readFile(`${config.paths.postgresData}.password`, 'utf8')).trim();
      const port = running.postgresPort;
      embeddedUrl = (db) => `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
      logger.info('attached to the embedded Postgres of a running totesys-cdc', { pid: running.pid, port });
    } else {
      lock = await acquireInstanceLock(config.paths.lockFile, options.command);
      try {
        const server = await startEmbeddedPostgres({ dataDir: config.paths.postgresData, logger });
        stopEmbedded = () => server.stop();
        embeddedUrl = server.url;
        await lock.update({ postgresPort: server.port });
      } catch (error) {
        await lock.release();
        throw error;
      }
    }
    for (const db of [SOURCE_DATABASE, WAREHOUSE_DATABASE]) await ensureDatabase(embeddedUrl('postgres'), db);
  } else if (options.exclusive) {
    lock = await acquireInstanceLock(config.paths.lockFile, options.command);
  }

  const sourceUrl = config.sourceUrl ?? embeddedUrl!(SOURCE_DATABASE);
  const warehouseUrl = config.warehouseUrl ?? embeddedUrl!(WAREHOUSE_DATABASE);
  try {
    if (config.sourceUrl) await checkReachable(config.sourceUrl, '--source-url / TOTESYS_SOURCE_URL');
    if (config.warehouseUrl) await checkReachable(config.warehouseUrl, '--warehouse-url / TOTESYS_WAREHOUSE_URL');
  } catch (error) {
    await stopEmbedded?.();
    await lock?.release();
    throw error;
  }
  return {
    sourceUrl,
    warehouseUrl,
    embeddedSource: !config.sourceUrl,
    async close() {
      await stopEmbedded?.();
      await lock?.release();
    },
  };
}

/** Connects once to turn an unreachable or misconfigured URL into one clear message. */
export async function checkReachable(url: string, setting: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (cause) {
    const reason = (cause as Error).message || (cause as { code?: string }).code || String(cause);
    if (isAuthenticationFailure(cause)) throw new AuthenticationError(`authentication failed for ${redactUrl(url)} (${setting}): check the user and password`, { cause });
    throw new UserError(`cannot connect to ${redactUrl(url)} (${setting}): ${reason}`, { cause });
  } finally {
    await client.end().catch(() => undefined);
  }
}
