import type pg from 'pg';
import type { WarehouseClient, WarehousePool } from '../../loader/warehouse-pool.js';

/**
 * A warehouse pool that records the text of every statement its clients send (COPYs included:
 * pg-copy-streams' submittable carries its `text`), so a test can tell which way the loader went.
 */
export function recordingPool(pool: pg.Pool, statements: string[]): WarehousePool {
  return {
    async connect() {
      const client = await pool.connect();
      const query = (q: unknown, ...rest: unknown[]) => {
        statements.push(typeof q === 'string' ? q : ((q as { text?: string }).text ?? ''));
        return (client.query as (...args: unknown[]) => unknown).call(client, q, ...rest);
      };
      return new Proxy(client, {
        get(target, prop) {
          if (prop === 'query') return query;
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }) as unknown as WarehouseClient;
    },
  };
}
