import type pg from 'pg';
import { WAREHOUSE_MODEL, WAREHOUSE_TABLES, type WarehouseTable } from '../../contracts/warehouse-model.js';

/** A table's model columns (what Parquet carries), ordered by event id (facts) or key (dimensions). */
export async function tableContent(client: pg.Client, schema: string, table: WarehouseTable): Promise<unknown[][]> {
  const spec = WAREHOUSE_MODEL[table];
  const columns = spec.columns.map((c) => client.escapeIdentifier(c.name)).join(', ');
  const order = spec.kind === 'fact' ? 'event_id' : spec.key;
  const { rows } = await client.query({ text: `SELECT ${columns} FROM ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)} ORDER BY ${client.escapeIdentifier(order)}`, rowMode: 'array' });
  return rows;
}

/** Every table's content, one query after another (one client runs one query at a time). */
export async function allTables(client: pg.Client, schema: string): Promise<unknown[][][]> {
  const out: unknown[][][] = [];
  for (const table of WAREHOUSE_TABLES) out.push(await tableContent(client, schema, table));
  return out;
}
