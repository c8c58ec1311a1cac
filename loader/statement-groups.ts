import type { WarehouseClient } from './warehouse-pool.js';

export type GroupClient = Pick<WarehouseClient, 'query'>;

/** SQL text, or a step that runs its own statements on the connection and resolves to its row count. */
export type GroupStatement = string | ((client: GroupClient) => Promise<number>);

/**
 * Runs groups of SQL statements on several connections at once: each group's statements in order
 * on one connection, groups handed out in the order given (list the longest first), each
 * statement in its own transaction. Resolves to the total row count; on the first error the other
 * connections stop after their current statement and the error is thrown. For work on a schema
 * nobody reads yet (bulk-load.ts), where half-done work is simply thrown away.
 */
export async function runStatementGroups(clients: readonly GroupClient[], groups: readonly (readonly GroupStatement[])[]): Promise<number> {
  const queue = [...groups];
  let rows = 0;
  let failed = false;
  const worker = async (client: GroupClient) => {
    for (let group = queue.shift(); group && !failed; group = queue.shift()) {
      for (const sql of group) {
        if (failed) return;
        try {
          const n = typeof sql === 'string' ? ((await client.query(sql)).rowCount ?? 0) : await sql(client);
          rows += n; // after the await: `rows += await …` would add to a stale total
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }
  };
  const results = await Promise.allSettled(clients.map(worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return rows;
}
