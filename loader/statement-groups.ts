import type { WarehouseClient } from './warehouse-pool.js';

/**
 * Runs groups of SQL statements on several connections at once: each group's statements in order
 * on one connection, groups handed out in the order given (list the longest first), each
 * statement in its own transaction. Resolves to the total row count; on the first error the other
 * connections stop after their current statement and the error is thrown. For work on a schema
 * nobody reads yet (bulk-load.ts), where half-done work is simply thrown away.
 */
export async function runStatementGroups(clients: readonly Pick<WarehouseClient, 'query'>[], groups: readonly (readonly string[])[]): Promise<number> {
  const queue = [...groups];
  let rows = 0;
  let failed = false;
  const worker = async (client: Pick<WarehouseClient, 'query'>) => {
    for (let group = queue.shift(); group && !failed; group = queue.shift()) {
      for (const sql of group) {
        if (failed) return;
        try {
          const result = await client.query(sql);
          rows += result.rowCount ?? 0;
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
