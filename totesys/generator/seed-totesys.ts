import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { SOURCE_TABLES, PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import { silentLogger, type Logger } from '../../platform/logger.js';
import { createPrng } from '../prng.js';
import { applySourceSchema } from '../source-schema.js';
import { EXPECTED_SOURCE_COLUMNS } from '../source-columns.js';
import { copyChunks, type CopyValue } from './copy-text.js';
import {
  addressRows, counterpartyRows, currencyRows, departmentRows, designCreationTimes, designRow, paymentTypeRows, staffRows,
} from './dimension-rows.js';
import { countOrders, generateOrders, type GeneratedOrder } from './order-stream.js';
import { paymentRow, purchaseOrderRow, salesOrderRow, transactionRow } from './order-table-rows.js';
import { planSeed } from './seed-plan.js';
import { AlreadySeededError, SeedTableError } from './seed-errors.js';
import { createPostgresClient } from '../../platform/postgres-client.js';

export interface SeedProgress {
  table: SourceTable;
  /** Rows of `table` written so far. */
  rows: number;
  /** Rows `table` will have when done. */
  totalRows: number;
}

export interface SeedOptions {
  /** 1 = the real totesys volumes (~11k sales orders); S multiplies orders, transactions and payments. */
  scale: number;
  /** Same seed (and scale) → identical database content. */
  seed: number;
  onProgress?: (progress: SeedProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
  /**
   * Run schema.sql (idempotent) before seeding. Default true; pass false for an external
   * database whose schema the caller has already checked and must not be touched.
   */
  applySchema?: boolean;
}

export interface SeedSummary {
  scale: number;
  seed: number;
  rowCounts: Record<SourceTable, number>;
  totalRows: number;
  durationMs: number;
  /** Where the time went: streaming rows with COPY, re-adding (validating) foreign keys, ANALYZE. */
  phaseMs: { copy: number; foreignKeys: number; analyze: number };
}

interface TableSource {
  table: SourceTable;
  totalRows: number;
  rows: () => Iterable<readonly CopyValue[]>;
}

const PROGRESS_EVERY_ROWS = 20_000;

function* mapOrders(orders: Iterable<GeneratedOrder>, kind: GeneratedOrder['kind'] | 'any', toRow: (o: GeneratedOrder) => CopyValue[]): Generator<CopyValue[]> {
  for (const o of orders) if (kind === 'any' || o.kind === kind) yield toRow(o);
}

/** Every table's rows, lazily: order tables replay the deterministic order stream once each. */
function tableSources(scale: number, seed: number): TableSource[] {
  const plan = planSeed(scale);
  const root = createPrng(seed, 'totesys-seed');
  const designTimes = designCreationTimes(root.fork('design-times'), plan);
  const counts = countOrders(seed, plan);
  const orders = () => generateOrders(seed, plan, designTimes);
  const fixed = (table: SourceTable, rows: CopyValue[][]): TableSource => ({ table, totalRows: rows.length, rows: () => rows });
  const sources: Record<SourceTable, TableSource> = {
    address: fixed('address', addressRows(root.fork('address'))),
    counterparty: fixed('counterparty', counterpartyRows(root.fork('counterparty'))),
    currency: fixed('currency', currencyRows()),
    department: fixed('department', departmentRows()),
    design: {
      table: 'design',
      totalRows: designTimes.length,
      rows: function* () {
        const prng = root.fork('design');
        for (let i = 0; i < designTimes.length; i++) yield designRow(prng, i + 1, designTimes[i]);
      },
    },
    payment_type: fixed('payment_type', paymentTypeRows()),
    staff: fixed('staff', staffRows(root.fork('staff'))),
    purchase_order: { table: 'purchase_order', totalRows: counts.purchases, rows: () => mapOrders(orders(), 'purchase', purchaseOrderRow) },
    sales_order: { table: 'sales_order', totalRows: counts.sales, rows: () => mapOrders(orders(), 'sale', salesOrderRow) },
    transaction: { table: 'transaction', totalRows: counts.sales + counts.purchases, rows: () => mapOrders(orders(), 'any', transactionRow) },
    payment: { table: 'payment', totalRows: counts.sales + counts.purchases, rows: () => mapOrders(orders(), 'any', paymentRow) },
  };
  return SOURCE_TABLES.map((t) => sources[t]);
}

/**
 * Seeds an empty totesys database with a deterministic history (docs/architecture.md#the-totesys-source-model). The whole seed is
 * one transaction: a crash or abort leaves the database empty, never half-seeded. Rows are
 * generated lazily and streamed with COPY under stream backpressure, so memory stays bounded at any
 * scale. Foreign keys are dropped for the load and re-added before commit: Postgres then validates
 * each with one join instead of queueing one after-trigger event per row in backend memory.
 * Sequences are moved past the generated ids so later inserts (the simulator) get fresh ids.
 */
export async function seedTotesys(url: string, options: SeedOptions): Promise<SeedSummary> {
  const { scale, seed, onProgress, signal } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'totesys-seed' });
  const started = performance.now();
  const sources = tableSources(scale, seed); // validates scale and seed before connecting
  signal?.throwIfAborted();
  const client = createPostgresClient({ url, applicationName: 'totesys-seed', logger });
  await client.connect();
  let inTransaction = false;
  try {
    if (options.applySchema ?? true) await applySourceSchema(client);
    await client.query('BEGIN');
    inTransaction = true;
    const tableList = SOURCE_TABLES.map((t) => client.escapeIdentifier(t)).join(', ');
    // Serialises concurrent seeds of one database: the second waits, then sees rows and refuses.
    await client.query(`LOCK TABLE ${tableList} IN SHARE ROW EXCLUSIVE MODE`);
    const existing = await existingRowCounts(client);
    if (Object.values(existing).some((n) => n > 0)) throw new AlreadySeededError(client.database ?? 'totesys', existing);

    const foreignKeys = await dropForeignKeys(client);
    const copyStarted = performance.now();
    const rowCounts = {} as Record<SourceTable, number>;
    for (const source of sources) {
      signal?.throwIfAborted();
      rowCounts[source.table] = await copyTable(client, source, onProgress, signal);
      logger.debug('table seeded', { table: source.table, rows: rowCounts[source.table] });
    }
    const fkStarted = performance.now();
    for (const fk of foreignKeys) {
      signal?.throwIfAborted();
      await client.query(`ALTER TABLE ${client.escapeIdentifier(fk.table)} ADD CONSTRAINT ${client.escapeIdentifier(fk.name)} ${fk.definition}`);
    }
    for (const table of SOURCE_TABLES) {
      const pk = PRIMARY_KEYS[table];
      await client.query(
        `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT max(${client.escapeIdentifier(pk)}) FROM ${client.escapeIdentifier(table)}), 1), (SELECT count(*) > 0 FROM ${client.escapeIdentifier(table)}))`,
        [table, pk],
      );
    }
    await client.query('COMMIT');
    inTransaction = false;
    const analyzeStarted = performance.now();
    await client.query(`ANALYZE ${tableList}`);
    const phaseMs = {
      copy: Math.round(fkStarted - copyStarted),
      foreignKeys: Math.round(analyzeStarted - fkStarted),
      analyze: Math.round(performance.now() - analyzeStarted),
    };
    const totalRows = Object.values(rowCounts).reduce((a, b) => a + b, 0);
    const durationMs = Math.round(performance.now() - started);
    logger.info('totesys seeded', { scale, seed, totalRows, durationMs, phaseMs });
    return { scale, seed, rowCounts, totalRows, durationMs, phaseMs };
  } catch (error) {
    if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function existingRowCounts(client: pg.Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of SOURCE_TABLES) {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${client.escapeIdentifier(table)} LIMIT 1) AS any_row`);
    counts[table] = rows[0].n;
  }
  return counts;
}

interface ForeignKey {
  table: string;
  name: string;
  definition: string;
}

async function dropForeignKeys(client: pg.Client): Promise<ForeignKey[]> {
  const { rows } = await client.query<ForeignKey>(
    `SELECT c.conrelid::regclass::text AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c
      WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
        AND c.conrelid = ANY (SELECT (quote_ident(current_schema()) || '.' || quote_ident(t))::regclass FROM unnest($1::text[]) AS t)
      ORDER BY c.conname`,
    [[...SOURCE_TABLES]],
  );
  // conrelid::regclass::text may be schema-qualified or quoted; keep the bare table name.
  const keys = rows.map((r) => ({ ...r, table: r.table.replace(/^.*\./, '').replace(/^"(.*)"$/, '$1') }));
  for (const fk of keys) {
    await client.query(`ALTER TABLE ${client.escapeIdentifier(fk.table)} DROP CONSTRAINT ${client.escapeIdentifier(fk.name)}`);
  }
  return keys;
}

async function copyTable(client: pg.Client, source: TableSource, onProgress: SeedOptions['onProgress'], signal?: AbortSignal): Promise<number> {
  const { table, totalRows } = source;
  const columns = EXPECTED_SOURCE_COLUMNS[table].map((c) => client.escapeIdentifier(c.name)).join(', ');
  let rows = 0;
  let reportedAt = 0;
  const counted = function* (): Generator<readonly CopyValue[]> {
    for (const row of source.rows()) {
      rows++;
      yield row;
      if (onProgress && rows - reportedAt >= PROGRESS_EVERY_ROWS) {
        reportedAt = rows;
        onProgress({ table, rows, totalRows });
      }
    }
  };
  try {
    const copy = client.query(copyStreams.from(`COPY ${client.escapeIdentifier(table)} (${columns}) FROM STDIN`));
    // pipeline() honours backpressure: the generator is pulled only as fast as Postgres accepts.
    await pipeline(Readable.from(copyChunks(counted()), { objectMode: true, highWaterMark: 4 }), copy, signal ? { signal } : {});
  } catch (cause) {
    if (signal?.aborted) throw signal.reason ?? cause;
    throw new SeedTableError(table, cause);
  }
  onProgress?.({ table, rows, totalRows });
  return rows;
}
