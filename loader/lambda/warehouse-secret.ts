import { postgresUrl } from '../../platform/postgres-url.js';
import { z } from 'zod';
import { isAuthenticationFailure, PipelineError } from '../../platform/errors.js';
import type { DatabaseFields } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { WarehouseSecretError } from '../loader-errors.js';
import { openWarehousePool, type WarehousePool } from '../warehouse-pool.js';

/**
 * The warehouse secret: JSON {username, password} plus, in an RDS secret made for an instance,
 * {host, port, dbname}. An RDS-managed master secret holds only username and password: then the
 * endpoint comes from TOTESYS_WAREHOUSE_HOST / _PORT / _DB (infra sets them; they win over the
 * secret's fields). Turned into a URL with every part percent-encoded (passwords contain `@`, `/`, `:`).
 */
const rdsSecret = z.object({
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().positive().optional(),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1).optional(),
});

export interface WarehouseUrlOptions {
  sslmode?: string;
  /** TOTESYS_WAREHOUSE_HOST / _PORT / _DB (config.databaseFields.warehouse), when the secret does not carry the endpoint. */
  endpoint?: Pick<DatabaseFields, 'host' | 'port' | 'database'>;
}

export function warehouseUrlFromSecret(secretArn: string, secretString: string | undefined, options: WarehouseUrlOptions = {}): string {
  if (!secretString) throw new WarehouseSecretError(secretArn, 'has no SecretString');
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // never include the secret text in the error
    throw new WarehouseSecretError(secretArn, 'is not JSON');
  }
  const parsed = rdsSecret.safeParse(json);
  if (!parsed.success) {
    throw new WarehouseSecretError(secretArn, `missing or bad field(s): ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')} (expected host, port, username, password, dbname)`);
  }
  const s = parsed.data;
  const endpoint = options.endpoint ?? {};
  const host = endpoint.host || s.host;
  const port = endpoint.port ?? s.port ?? 5432;
  const dbname = endpoint.database || s.dbname || 'postgres';
  if (!host) throw new WarehouseSecretError(secretArn, 'missing or bad field(s): host (not in the secret, and TOTESYS_WAREHOUSE_HOST is not set)');
  if (!Number.isInteger(port) || port <= 0) throw new WarehouseSecretError(secretArn, 'bad port (TOTESYS_WAREHOUSE_PORT or the secret\'s port)');
  return postgresUrl({ host, port, database: dbname, user: s.username, password: s.password, sslmode: options.sslmode });
}

/**
 * Secret rotation: the loader keeps its warehouse pool for the container's life, but a rotated
 * password makes the pool's next connection fail authentication (28P01 / 28000). Then, once per
 * attempt, the secret is read again: a changed secret means a new pool and one more try of the same
 * work (a load run is idempotent); an unchanged secret, or a second authentication failure, is a
 * permanent WarehouseAuthenticationError, never a loop (AWS retries the next scheduled run).
 */
export type SecretReader = (secretArn: string) => Promise<string | undefined>;

export interface RotatingWarehouseOptions {
  secretArn: string;
  getSecret: SecretReader;
  sslmode?: string;
  /** The endpoint when the secret lacks it (see warehouseUrlFromSecret). */
  endpoint?: WarehouseUrlOptions['endpoint'];
  logger?: Logger;
  /** Opens a pool for a URL (default: openWarehousePool); tests count reconnects through it. */
  openPool?: (warehouseUrl: string) => { pool: WarehousePool; close(): Promise<void> };
}

export interface RotatingWarehouse {
  /** Runs `work` with the current pool; on an authentication failure re-reads the secret and retries at most once. */
  run<T>(work: (pool: WarehousePool) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class WarehouseAuthenticationError extends PipelineError {
  constructor(readonly secretArn: string, reason: string, options: { cause?: unknown } = {}) {
    super(`the warehouse rejected the credentials of secret ${secretArn}: ${reason}`, { retryable: false, cause: options.cause });
  }
}

export function rotatingWarehouse(options: RotatingWarehouseOptions): RotatingWarehouse {
  const open = options.openPool ?? ((warehouseUrl: string) => openWarehousePool({ warehouseUrl }));
  let current: Promise<{ url: string; pool: WarehousePool; close(): Promise<void> }> | undefined;

  const readUrl = async () => warehouseUrlFromSecret(options.secretArn, await options.getSecret(options.secretArn), { sslmode: options.sslmode, endpoint: options.endpoint });
  const connect = (url?: string) =>
    (current = (async () => {
      const resolved = url ?? (await readUrl());
      return { url: resolved, ...open(resolved) };
    })().catch((error) => {
      current = undefined; // a failed secret fetch is retried by the next invocation
      throw error;
    }));

  return {
    async run(work) {
      const { url, pool, close } = await (current ?? connect());
      try {
        return await work(pool);
      } catch (error) {
        if (!isAuthenticationFailure(error)) throw error;
        const fresh = await readUrl();
        if (fresh === url) throw new WarehouseAuthenticationError(options.secretArn, 'the secret has not changed (wrong password in the secret, or the role is locked?)', { cause: error });
        options.logger?.info('warehouse authentication failed; the secret has changed (rotation): reconnecting', { secretArn: options.secretArn });
        await close().catch(() => undefined);
        const next = await connect(fresh);
        try {
          return await work(next.pool);
        } catch (retryError) {
          if (isAuthenticationFailure(retryError)) throw new WarehouseAuthenticationError(options.secretArn, 'rejected again after re-reading the rotated secret', { cause: retryError });
          throw retryError;
        }
      }
    },
    async close() {
      const open = current;
      current = undefined;
      if (open) await (await open).close();
    },
  };
}
