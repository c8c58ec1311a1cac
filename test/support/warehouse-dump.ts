import pg from 'pg';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type WarehouseTable } from '../../contracts/warehouse-model.js';

/**
 * Every warehouse table's model columns (the Parquet columns: no surrogate ids, no loaded_at), as
 * text, facts ordered by event_id and dimensions by key: two warehouses built from the same changes
 * by different paths (local vs AWS-shaped, live vs replay) must dump identically.
 */
export type WarehouseDump = Record<WarehouseTable, string[][]>;

export async function dumpWarehouse(url: string, schema = 'star'): Promise<WarehouseDump> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const dump = {} as WarehouseDump;
    for (const table of WAREHOUSE_TABLES) {
      const spec = WAREHOUSE_MODEL[table];
      const columns = spec.columns.map((c) => `${client.escapeIdentifier(c.name)}::text`).join(', ');
      const order = spec.kind === 'fact' ? 'event_id' : client.escapeIdentifier(spec.key);
      const { rows } = await client.query({
        text: `SELECT ${columns} FROM ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)} ORDER BY ${order}`,
        rowMode: 'array',
      });
      dump[table] = rows as string[][];
    }
    return dump;
  } finally {
    await client.end();
  }
}
