import type pg from 'pg';
import { errorMessage } from '../platform/errors.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { createPostgresClient } from '../platform/postgres-client.js';
import type { Prng } from '../totesys/prng.js';
import { runSimulator } from '../totesys/simulator/run-simulator.js';
import type { WorkloadFeature } from './soak-options.js';
import { AUDIT_SCHEMA, rowsCreatedSinceBaseline } from './source-audit.js';

/**
 * The soak's workload on the source: its own row changes (insert, update, delete, primary-key
 * change on the three fact tables), one TRUNCATE and one schema change when the trial says, and the
 * totesys simulator's realistic mix beside it. Every change is one short transaction; a change that
 * fails (database restarting, deadlock with the simulator) is simply not made: the audit triggers
 * record only what committed, so the oracle needs no bookkeeping here.
 *
 * Until the initial snapshot has completed once (`fresh-rows`), only rows created after the slot
 * existed are touched: a row the first, abandoned snapshot may or may not have published, changed
 * before the snapshot was redone, has no single right version count. After it (`any-rows`), any row.
 */
type TableSpec = { table: string; key: string; insert: string; update: string };

/**
 * A fact table's changes: an update bumps `bumped` (kept in 1..1000) and last_updated of the row
 * with key $1; an insert copies `insert`, the columns of the first row at or after key $1 (or is
 * the insert given as SQL).
 */
function factTable(table: string, key: string, bumped: string, insert: readonly string[] | string): TableSpec {
  const columns = typeof insert === 'string' ? '' : insert.join(', ');
  return {
    table,
    key,
    insert: typeof insert === 'string' ? insert : `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${table} WHERE ${key} >= $1 ORDER BY ${key} LIMIT 1`,
    update: `UPDATE ${table} SET ${bumped} = ${bumped} % 1000 + 1, last_updated = now() WHERE ${key} = $1`,
  };
}

const TABLES: TableSpec[] = [
  factTable('sales_order', 'sales_order_id', 'units_sold', ['design_id', 'staff_id', 'counterparty_id', 'units_sold', 'unit_price', 'currency_id', 'agreed_delivery_date', 'agreed_payment_date', 'agreed_delivery_location_id']),
  factTable('purchase_order', 'purchase_order_id', 'item_quantity', ['staff_id', 'counterparty_id', 'item_code', 'item_quantity', 'item_unit_price', 'currency_id', 'agreed_delivery_date', 'agreed_payment_date', 'agreed_delivery_location_id']),
  // From a transaction, not a payment: after the TRUNCATE there is no payment to copy.
  factTable(
    'payment',
    'payment_id',
    'payment_amount',
    `INSERT INTO payment (transaction_id, counterparty_id, payment_amount, currency_id, payment_type_id, paid, payment_date, company_ac_number, counterparty_ac_number)
     SELECT t.transaction_id, (SELECT min(counterparty_id) FROM counterparty), round((random() * 1000)::numeric, 2), (SELECT min(currency_id) FROM currency),
            (SELECT min(payment_type_id) FROM payment_type), false, '2024-12-0' || (1 + floor(random() * 9))::int, 11111111, 22222222
     FROM transaction t WHERE t.transaction_id >= $1 ORDER BY t.transaction_id LIMIT 1`,
  ),
];

/** The schema change: a column added (and written), a type widened, a column the warehouse does not use renamed. */
export const SCHEMA_CHANGE_DDL = [
  'ALTER TABLE sales_order ADD COLUMN IF NOT EXISTS soak_note text',
  'ALTER TABLE purchase_order ALTER COLUMN item_quantity TYPE bigint',
  'ALTER TABLE counterparty RENAME COLUMN delivery_contact TO delivery_contact_name',
];

export interface WorkloadCounts {
  inserts: number;
  updates: number;
  deletes: number;
  keyChanges: number;
  truncates: number;
  schemaChanges: number;
  simulated: number;
  failed: number;
}

type Op = 'insert' | 'update' | 'delete' | 'key-change';

export class Workload {
  readonly counts: WorkloadCounts = { inserts: 0, updates: 0, deletes: 0, keyChanges: 0, truncates: 0, schemaChanges: 0, simulated: 0, failed: 0 };
  lastError: string | undefined;
  private mode: 'fresh-rows' | 'any-rows' = 'fresh-rows';
  private pendingTruncate = false;
  private pendingSchemaChange = false;
  private schemaChanged = false;
  private readonly stopper = new AbortController();
  private readonly running: Promise<unknown>[] = [];
  private simulatorStarted = false;

  constructor(
    private readonly options: { sourceUrl: string; slotName: string; features: ReadonlySet<WorkloadFeature>; prng: Prng; opsPerSecond: number; simulatorPerSecond: number },
  ) {}

  /** Starts changing the source once the slot exists (every change then commits after the first snapshot's point). */
  start(): void {
    this.running.push(this.loop());
  }

  /** The initial snapshot completed: any row may change from now on, and the simulator joins in. */
  allowAnyRows(): void {
    this.mode = 'any-rows';
    if (!this.simulatorStarted && this.options.features.has('simulator')) {
      this.simulatorStarted = true;
      this.running.push(this.simulate());
    }
  }

  truncateSoon(): void {
    if (this.options.features.has('truncate')) this.pendingTruncate = true;
  }

  schemaChangeSoon(): void {
    if (this.options.features.has('schema-change')) this.pendingSchemaChange = true;
  }

  /** True while a planned TRUNCATE or schema change has not been made yet (they wait for `any-rows`). */
  get hasPendingEvents(): boolean {
    return this.pendingTruncate || this.pendingSchemaChange;
  }

  async stop(): Promise<WorkloadCounts> {
    this.stopper.abort();
    await Promise.all(this.running);
    return this.counts;
  }

  private async loop(): Promise<void> {
    const { signal } = this.stopper;
    let client: pg.Client | undefined;
    const intervalMs = 1_000 / this.options.opsPerSecond;
    let waitedForSlot = false;
    while (!signal.aborted) {
      try {
        if (!client) {
          client = createPostgresClient({ url: this.options.sourceUrl, applicationName: 'soak-workload', connectionTimeoutMs: 5_000 });
          await client.connect();
        }
        if (!waitedForSlot) {
          const { rowCount } = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [this.options.slotName]);
          if (!rowCount) {
            await abortableDelay(50, signal);
            continue;
          }
          waitedForSlot = true;
        }
        await this.step(client);
      } catch (error) {
        this.counts.failed++;
        this.lastError = errorMessage(error);
        await client?.end().catch(() => undefined);
        client = undefined;
        await abortableDelay(200, signal);
        continue;
      }
      await abortableDelay(intervalMs, signal);
    }
    await client?.end().catch(() => undefined);
  }

  private async step(client: pg.Client): Promise<void> {
    if (this.pendingTruncate && this.mode === 'any-rows') {
      await client.query('TRUNCATE payment');
      this.pendingTruncate = false;
      this.counts.truncates++;
      return;
    }
    if (this.pendingSchemaChange && this.mode === 'any-rows') {
      for (const ddl of SCHEMA_CHANGE_DDL) await client.query(ddl).catch((error) => (/already exists|does not exist/.test(errorMessage(error)) ? undefined : Promise.reject(error)));
      this.pendingSchemaChange = false;
      this.schemaChanged = true;
      this.counts.schemaChanges++;
      return;
    }
    const ops = this.enabledOps();
    if (ops.length === 0) return;
    const { prng } = this.options;
    const op = prng.pick(ops);
    const spec = prng.pick(TABLES);
    if (op === 'insert') {
      // A payment is made from a transaction (after the TRUNCATE there is no payment to copy).
      const [from, key] = spec.table === 'payment' ? ['transaction', 'transaction_id'] : [spec.table, spec.key];
      const { rows } = await client.query<{ max: number | null }>(`SELECT max(${client.escapeIdentifier(key)}) AS max FROM ${client.escapeIdentifier(from)} WHERE ${client.escapeIdentifier(key)} < 50000000`);
      const { rowCount } = await client.query(spec.insert, [prng.int(1, Math.max(1, Math.min(rows[0].max ?? 1, 40_000_000)))]);
      if (rowCount) this.counts.inserts++;
      return;
    }
    const id = await this.pickRow(client, spec, op);
    if (id === null) return;
    const t = client.escapeIdentifier(spec.table);
    const k = client.escapeIdentifier(spec.key);
    if (op === 'update') {
      const { rowCount } = await client.query(spec.update, [id]);
      if (rowCount && spec.table === 'sales_order' && this.schemaChanged) await client.query('UPDATE sales_order SET soak_note = $1 WHERE sales_order_id = $2', [`note ${this.counts.updates}`, id]);
      if (rowCount) this.counts.updates++;
    } else if (op === 'delete') {
      const { rowCount } = await client.query(`DELETE FROM ${t} WHERE ${k} = $1`, [id]);
      if (rowCount) this.counts.deletes++;
    } else {
      const { rowCount } = await client.query(`UPDATE ${t} SET ${k} = nextval('${AUDIT_SCHEMA}.new_key') WHERE ${k} = $1`, [id]);
      if (rowCount) this.counts.keyChanges++;
    }
  }

  private enabledOps(): Op[] {
    const f = this.options.features;
    const ops: Op[] = [];
    if (f.has('inserts')) ops.push('insert', 'insert');
    if (f.has('updates')) ops.push('update', 'update', 'update');
    if (f.has('deletes')) ops.push('delete');
    if (f.has('key-changes')) ops.push('key-change');
    return ops;
  }

  /** A row to change: one the workload created (fresh-rows) or any; unreferenced ones only for deletes. */
  private async pickRow(client: pg.Client, spec: TableSpec, op: Op): Promise<number | null> {
    const unreferenced = op === 'delete' && spec.table !== 'payment' ? `AND NOT EXISTS (SELECT 1 FROM transaction x WHERE x.${client.escapeIdentifier(spec.key)} = s.${client.escapeIdentifier(spec.key)})` : '';
    if (this.mode === 'fresh-rows') {
      const candidates = await rowsCreatedSinceBaseline(client, spec.table, spec.key, 20);
      if (op !== 'delete' || spec.table === 'payment') return candidates[0] ?? null;
      const { rows } = await client.query<{ id: number }>(
        `SELECT s.${client.escapeIdentifier(spec.key)} AS id FROM ${client.escapeIdentifier(spec.table)} s WHERE s.${client.escapeIdentifier(spec.key)} = ANY($1) ${unreferenced} LIMIT 1`,
        [candidates],
      );
      return rows[0]?.id ?? null;
    }
    const t = client.escapeIdentifier(spec.table);
    const k = client.escapeIdentifier(spec.key);
    const { rows: bounds } = await client.query<{ max: number | null }>(`SELECT max(${k}) AS max FROM ${t} WHERE ${k} < 50000000`);
    const start = this.options.prng.int(1, Math.max(1, bounds[0].max ?? 1));
    const { rows } = await client.query<{ id: number }>(`SELECT s.${k} AS id FROM ${t} s WHERE s.${k} >= $1 ${unreferenced} ORDER BY s.${k} LIMIT 1`, [start]);
    return rows[0]?.id ?? null;
  }

  private async simulate(): Promise<void> {
    const { signal } = this.stopper;
    for (let round = 0; !signal.aborted; round++) {
      try {
        const summary = await runSimulator(this.options.sourceUrl, { ratePerSecond: this.options.simulatorPerSecond, seed: this.options.prng.int(1, 1_000_000) + round, signal });
        this.counts.simulated += summary.changes;
      } catch (error) {
        this.counts.failed++;
        this.lastError = errorMessage(error);
        await abortableDelay(500, signal);
      }
    }
  }
}
