import { LOADER_LOCK_CLASS } from './warehouse-ddl.js';
import type { WarehouseClient } from './warehouse-pool.js';

type Client = Pick<WarehouseClient, 'query'>;

const LOCK_NOT_AVAILABLE = '55P03';

/**
 * The loader's lock on a schema (an advisory lock: one loader, replay load or swap at a time).
 * waitMs 0: tried once. waitMs > 0: waited for on the server, up to waitMs, so a draining loader
 * sees the wait (lockWanted) and lets go. 'transaction' scope is released at the transaction's end;
 * false from it leaves the transaction aborted (the caller rolls back), as any failed statement does.
 */
export async function takeLoaderLock(client: Client, schema: string, how: { waitMs: number; scope: 'session' | 'transaction' }): Promise<boolean> {
  const xact = how.scope === 'transaction' ? '_xact' : '';
  if (how.waitMs <= 0) {
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory${xact}_lock($1, hashtext($2)) AS locked`, [LOADER_LOCK_CLASS, schema]);
    return rows[0]!.locked;
  }
  // The rest of a transaction keeps the timeout it had; a session's is reset below.
  const previous = how.scope === 'transaction' ? (await client.query<{ t: string }>(`SELECT current_setting('lock_timeout') AS t`)).rows[0]!.t : null;
  await client.query(`SELECT set_config('lock_timeout', $1, $2)`, [`${Math.ceil(how.waitMs)}ms`, how.scope === 'transaction']);
  try {
    await client.query(`SELECT pg_advisory${xact}_lock($1, hashtext($2))`, [LOADER_LOCK_CLASS, schema]);
  } catch (error) {
    if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) return false;
    throw error;
  } finally {
    if (how.scope === 'session') await client.query('RESET lock_timeout').catch(() => {});
  }
  if (previous !== null) await client.query(`SELECT set_config('lock_timeout', $1, true)`, [previous]);
  return true;
}

/** Whether a session is waiting for this schema's loader lock (the two-key advisory lock's catalog form). */
export async function lockWanted(client: Client, schema: string): Promise<boolean> {
  const { rows } = await client.query<{ wanted: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
       AND classid = ($1::bigint & 4294967295)::oid AND objid = (hashtext($2)::bigint & 4294967295)::oid) AS wanted`,
    [LOADER_LOCK_CLASS, schema],
  );
  return rows[0]!.wanted;
}
