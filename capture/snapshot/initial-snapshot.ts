import pg from 'pg';
import { CHANGE_EVENT_VERSION, snapshotEventId, type ChangeEvent, type Row } from '../../contracts/change-event.js';
import { SOURCE_TABLES, PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import { columnValue } from '../../contracts/change-event.js';
import { createPostgresClient } from '../../platform/postgres-client.js';

/**
 * Reads the 11 tables inside an exported snapshot as `r` events (docs/capture-spec.md, S5): the
 * snapshot and the slot's stream meet at the slot's consistent point, so there is no gap and no
 * overlap.
 * Rows are read through a server-side cursor, fetchRows at a time (bounded memory: one FETCH's rows
 * and its chunk's keys), with every column cast to text and mapped by columnValue, exactly as the
 * streaming path maps pgoutput's text values.
 * Each table is read in primary-key order, so every batchRows rows are a chunk of the key space: `onChunk`
 * receives its range and keys after its events (the capture turns it into a reconcile record,
 * contracts/reconcile.ts). The chunks of a table cover every key: the first starts unbounded, each
 * starts after the previous one's last key, the last ends unbounded.
 */
export interface SnapshotChunk {
  table: SourceTable;
  /** 0, 1, ... per table. */
  index: number;
  keyAfter: number | string | null;
  keyTo: number | string | null;
  keys: (number | string)[];
  /** The snapshot's time (now() inside it): the commit time of the delete versions it implies. */
  commitTs: string;
}

export interface SnapshotProgress {
  table: SourceTable;
  rows: number;
  /** Estimate: pg_class.reltuples, or an exact count inside the snapshot when never analysed. */
  totalRows: number;
  rowsPerSec: number;
}

export interface ReadSnapshotOptions {
  connectionString: string;
  snapshotName: string;
  /** The slot's consistent point: source.lsn and commitLsn of every snapshot event. */
  snapshotLsn: string;
  /** Rows per chunk (one reconcile record each); default 5,000. */
  batchRows?: number;
  /** Rows per FETCH, at most batchRows; default SNAPSHOT_FETCH_ROWS. */
  fetchRows?: number;
  /** Receives each batch in order; awaited (backpressure). */
  onEvents: (events: ChangeEvent[]) => Promise<void>;
  onProgress?: (progress: SnapshotProgress) => void;
  /** Receives each chunk's key range after its events (awaited). */
  onChunk?: (chunk: SnapshotChunk) => Promise<void>;
  /** Default: every source table. */
  tables?: readonly SourceTable[];
}

/**
 * Rows per FETCH. A fetched batch's rows, events and JSON are held across the awaits that publish
 * them, so a large one outlives V8's young generation and is collected by full mark-sweeps: with
 * 5,000 rows per FETCH the snapshot of a scale-10 totesys took 5.9–6.3 CPU-s into a null writer,
 * with 1,000 3.9–4.4 (bench:snapshot). A chunk (its reconcile record) still spans 5,000 rows: only
 * its keys are held, and fewer reconcile records cost the loader fewer statements.
 */
export const SNAPSHOT_FETCH_ROWS = 1000;

export async function readSnapshot(options: ReadSnapshotOptions): Promise<{ rows: number; perTable: Record<string, number> }> {
  const batchRows = options.batchRows ?? 5000;
  const fetchRows = Math.min(options.fetchRows ?? SNAPSHOT_FETCH_ROWS, batchRows);
  const client = createPostgresClient({ url: options.connectionString, applicationName: 'totesys-cdc-snapshot', connectionTimeoutMs: 10_000 });
  client.on('error', () => undefined); // surfaced by the pending query
  await client.connect();
  const perTable: Record<string, number> = {};
  let total = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(options.snapshotName)}`);
    await client.query("SET LOCAL TimeZone = 'UTC'");
    const { rows: nowRows } = await client.query<{ ts: Date }>('SELECT now() AS ts');
    const commitTs = nowRows[0].ts.toISOString();
    for (const table of options.tables ?? SOURCE_TABLES) {
      const rows = await readTable(client, table, options, commitTs, batchRows, fetchRows);
      perTable[table] = rows;
      total += rows;
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
  return { rows: total, perTable };
}

async function readTable(client: pg.Client, table: SourceTable, options: ReadSnapshotOptions, commitTs: string, batchRows: number, fetchRows: number): Promise<number> {
  const { rows: columns } = await client.query<{ attname: string; atttypid: number }>(
    `SELECT attname, atttypid::int AS atttypid FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [client.escapeIdentifier(table)],
  );
  const totalRows = await estimateRows(client, table);
  const keyColumn = PRIMARY_KEYS[table];
  const keyIndex = columns.findIndex((c) => c.attname === keyColumn);
  const select = columns.map((c) => `${client.escapeIdentifier(c.attname)}::text`).join(', ');
  const cursor = client.escapeIdentifier(`totesys_cdc_snapshot_${table}`);
  // Key order: each chunk of batchRows rows is a range of the key space (the reconcile's), and a
  // resnapshot reads the same ranges again. The key is qualified by its table: unqualified, ORDER
  // BY would take the output column of that name, the key's TEXT, and read '10' before '2' (the
  // chunks' ranges, compared as numbers by the loader, would then not hold their keys).
  const from = client.escapeIdentifier(table);
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${select} FROM ${from} ORDER BY ${from}.${client.escapeIdentifier(keyColumn)}`);
  const started = performance.now();
  let count = 0;
  let keyAfter: number | string | null = null;
  for (let index = 0; ; index++) {
    // One chunk: FETCHes of fetchRows until it has batchRows rows. A short (or empty) FETCH is the
    // table's end: that chunk is the last and ends unbounded; a full chunk may have more after it.
    const keys: (number | string)[] = [];
    let last = false;
    while (keys.length < batchRows) {
      const wanted = Math.min(fetchRows, batchRows - keys.length);
      const result = await client.query<unknown[]>({ text: `FETCH ${wanted} FROM ${cursor}`, rowMode: 'array' });
      const events = result.rows.map((values) => snapshotEvent(table, columns, values as (string | null)[], keyIndex, options.snapshotLsn, commitTs));
      if (events.length > 0) {
        await options.onEvents(events);
        for (const event of events) keys.push(event.key[keyColumn] as number | string);
        count += events.length;
        const seconds = (performance.now() - started) / 1000;
        options.onProgress?.({ table, rows: count, totalRows: Math.max(totalRows, count), rowsPerSec: seconds > 0 ? Math.round(count / seconds) : 0 });
      }
      if (events.length < wanted) {
        last = true;
        break;
      }
    }
    const keyTo = last ? null : keys[keys.length - 1];
    await options.onChunk?.({ table, index, keyAfter, keyTo, keys, commitTs });
    keyAfter = keyTo;
    if (last) break;
  }
  await client.query(`CLOSE ${cursor}`);
  if (count === 0) options.onProgress?.({ table, rows: 0, totalRows: 0, rowsPerSec: 0 });
  return count;
}

/** One row read by a snapshot as its `r` event at `snapshotLsn` (the initial snapshot, a resnapshot's chunk). */
export function snapshotEvent(
  table: SourceTable,
  columns: { attname: string; atttypid: number }[],
  values: (string | null)[],
  keyIndex: number,
  snapshotLsn: string,
  commitTs: string,
): ChangeEvent {
  const after: Row = {};
  for (let i = 0; i < columns.length; i++) after[columns[i].attname] = columnValue(columns[i].atttypid, values[i]);
  const keyValue = columnValue(columns[keyIndex].atttypid, values[keyIndex]);
  return {
    v: CHANGE_EVENT_VERSION,
    id: snapshotEventId(table, keyValue, snapshotLsn),
    op: 'r',
    table,
    key: { [columns[keyIndex].attname]: keyValue },
    before: null,
    after,
    source: { lsn: snapshotLsn, commitLsn: snapshotLsn, xid: null, commitTs, snapshot: true },
  };
}

async function estimateRows(client: pg.Client, table: SourceTable): Promise<number> {
  const { rows } = await client.query<{ reltuples: number }>('SELECT reltuples::float8 AS reltuples FROM pg_class WHERE oid = $1::regclass', [client.escapeIdentifier(table)]);
  const estimate = rows[0]?.reltuples ?? -1;
  if (estimate >= 0) return Math.round(estimate);
  const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${client.escapeIdentifier(table)}`);
  return Number(counted[0].n);
}
