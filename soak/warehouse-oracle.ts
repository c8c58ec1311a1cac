import pg from 'pg';
import { FACTS } from '../contracts/warehouse-model.js';
import {
  COMPARED_DIMENSIONS, datesReferencedByFacts, expectedCurrentFacts, expectedDimDate, expectedDimensions, FACT_SOURCES,
  warehouseCurrentFacts, warehouseDimDate, warehouseDimensions,
} from '../test/support/expected-star-schema.js';
import { diffKeyedRows, diffVersions, type Difference } from './differences.js';
import { expectedVersions } from './source-audit.js';

/**
 * After a trial: every warehouse table against independent SQL on the source (the star schema as
 * DESIGN.md §5 defines it, computed from the totesys tables, never through the processor), and
 * every fact's versions per source row against the source's own audit of what it committed.
 */
export async function compareWarehouseWithSource(source: pg.ClientBase, warehouse: pg.ClientBase, schema: string): Promise<Difference[]> {
  const out: Difference[] = [];
  const [wantDims, haveDims] = [await expectedDimensions(source), await warehouseDimensions(warehouse, schema)];
  for (const dim of COMPARED_DIMENSIONS) out.push(...diffKeyedRows(dim, wantDims[dim], haveDims[dim]));

  const [wantFacts, haveFacts] = [await expectedCurrentFacts(source), await warehouseCurrentFacts(warehouse, schema)];
  for (const fact of FACTS) out.push(...diffKeyedRows(`${fact}_current`, wantFacts[fact], haveFacts[fact]));

  for (const fact of FACTS) {
    const { sourceTable } = FACT_SOURCES[fact];
    out.push(...diffVersions(`${fact} versions`, await expectedVersions(source, sourceTable), await warehouseVersions(warehouse, schema, fact)));
  }

  const referenced = await datesReferencedByFacts(warehouse, schema);
  out.push(...diffKeyedRows('dim_date', await expectedDimDate(source, referenced), await warehouseDimDate(warehouse, schema)));

  const ids = await warehouse.query<{ n: number; distinct_ids: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM (${FACTS.map((f) => `SELECT event_id FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(f)}`).join(' UNION ALL ')}) e`,
  );
  const { n, distinct_ids } = ids.rows[0];
  if (n !== distinct_ids) out.push({ table: 'facts', key: 'event_id', expected: `${n} distinct event ids`, got: `${distinct_ids}` });
  return out;
}

/** The warehouse's versions per source id: ops in (source_lsn, source_seq) order, like expectedVersions. */
async function warehouseVersions(warehouse: pg.ClientBase, schema: string, fact: (typeof FACTS)[number]): Promise<Map<number, string>> {
  const id = pg.escapeIdentifier(FACT_SOURCES[fact].sourceId);
  const { rows } = await warehouse.query<{ id: string; ops: string }>(
    `SELECT ${id}::text AS id, string_agg(op, ',' ORDER BY source_lsn, source_seq) AS ops FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(fact)} GROUP BY ${id}`,
  );
  return new Map(rows.map((r) => [Number(r.id), r.ops]));
}
