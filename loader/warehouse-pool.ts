import type pg from 'pg';
import { isRetryable } from '../platform/errors.js';
import { createPostgresPool } from '../platform/postgres-client.js';

/**
 * The slice of a Postgres client the loader needs. A `pg.Pool` satisfies it; the loader checks out
 * ONE client per run and keeps it for the whole run, because the run's advisory lock is held by
 * that session.
 */
export interface WarehouseClient {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** pg-copy-streams needs the real client to stream COPY data. */
  query<T extends pg.Submittable>(submittable: T): T;
  escapeIdentifier(name: string): string;
  release(error?: Error | boolean): void;
}

export interface WarehousePool {
  connect(): Promise<WarehouseClient>;
}

export type WarehouseTarget = { pool: WarehousePool; warehouseUrl?: undefined } | { warehouseUrl: string; pool?: undefined };

/** Opens a pool for a URL (owned: the caller ends it) or borrows the given one. */
export function openWarehousePool(target: WarehouseTarget, applicationName = 'totesys-cdc-loader'): { pool: WarehousePool; close(): Promise<void> } {
  if (target.pool) return { pool: target.pool, close: async () => {} };
  // A client that loses its connection never crashes the process (the factory listens); the next run reconnects.
  const pool = createPostgresPool({ url: target.warehouseUrl, applicationName, max: 2 });
  return { pool: pool as unknown as WarehousePool, close: () => pool.end() };
}

/** Runs `fn` on a client of the pool; a client whose connection failed is discarded, not returned to the pool. */
export async function withPoolClient<T>(pool: WarehousePool, fn: (client: WarehouseClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken && isRetryable(broken) ? broken : undefined);
  }
}
