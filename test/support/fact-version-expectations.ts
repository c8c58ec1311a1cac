import pg from 'pg';
import type { FactName } from '../../contracts/warehouse-model.js';
import type { SimulatedChange } from '../../totesys/simulator/run-simulator.js';
import { FACT_SOURCES } from './expected-star-schema.js';

/**
 * The fact versions the warehouse must hold, counted from what the source actually went through:
 * one 'r' per row present at the initial snapshot, then one version per simulator change that
 * wrote the row ('c' insert, 'u' update, 'd' delete), in commit order. Compared as
 * "<id>:<op>,<op>,..." per source id, so a lost, duplicated or reordered version shows by id.
 */
const FACT_OF_TABLE: Record<string, FactName> = Object.fromEntries(
  Object.entries(FACT_SOURCES).map(([fact, { sourceTable }]) => [sourceTable, fact as FactName]),
);

function opOf(change: SimulatedChange): 'c' | 'u' | 'd' {
  if (change.kind === 'new_sales_order' || change.kind === 'new_purchase_order') return 'c';
  if (change.kind === 'delete_unpaid_order') return 'd';
  return 'u';
}

export class FactVersionExpectations {
  private readonly ops = new Map<FactName, Map<number, string[]>>();

  private push(fact: FactName, id: number, op: string): void {
    let byId = this.ops.get(fact);
    if (!byId) this.ops.set(fact, (byId = new Map()));
    byId.set(id, [...(byId.get(id) ?? []), op]);
  }

  /** Every fact-table row present now becomes an 'r' version (call right after the initial snapshot). */
  async recordSnapshot(source: pg.ClientBase): Promise<void> {
    for (const [fact, { sourceTable, sourceId }] of Object.entries(FACT_SOURCES) as [FactName, { sourceTable: string; sourceId: string }][]) {
      const { rows } = await source.query(`SELECT ${pg.escapeIdentifier(sourceId)} AS id FROM ${pg.escapeIdentifier(sourceTable)}`);
      for (const row of rows) this.push(fact, row.id as number, 'r');
    }
  }

  /** The simulator's onChange: one source transaction; every fact-table row it wrote gets a version. */
  readonly recordChange = (change: SimulatedChange): void => {
    for (const row of change.rows) {
      const fact = FACT_OF_TABLE[row.table];
      if (fact) this.push(fact, row.id, opOf(change));
    }
  };

  expected(fact: FactName): string[] {
    return [...(this.ops.get(fact) ?? new Map<number, string[]>())].map(([id, ops]) => `${id}:${ops.join(',')}`).sort();
  }

  /** Source ids whose versions, in order, match `pattern` (e.g. /,d$/ for deleted rows). */
  idsMatching(fact: FactName, pattern: RegExp): number[] {
    return [...(this.ops.get(fact) ?? new Map<number, string[]>())].filter(([, ops]) => pattern.test(ops.join(','))).map(([id]) => id);
  }
}

/** The warehouse's versions per source id, in (source_lsn, source_seq) order, same text form. */
export async function warehouseFactVersions(warehouse: pg.ClientBase, schema: string, fact: FactName): Promise<string[]> {
  const id = pg.escapeIdentifier(FACT_SOURCES[fact].sourceId);
  const { rows } = await warehouse.query(
    `SELECT ${id} || ':' || string_agg(op, ',' ORDER BY source_lsn, source_seq) AS versions
     FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(fact)} GROUP BY ${id}`,
  );
  return rows.map((r) => r.versions as string).sort();
}
