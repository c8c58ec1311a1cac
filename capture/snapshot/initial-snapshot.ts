import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import {
  CHANGE_EVENT_VERSION,
  RelationEventEncoder,
  columnValue,
  partitionKeyOf,
  serializeChangeEvent,
  snapshotEventId,
  snapshotSourceTail,
  type ChangeEvent,
  type EncodedChangeEvent,
  type Row,
} from '../../contracts/change-event.js';
import { SOURCE_TABLES, PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import { createPostgresClient } from '../../platform/postgres-client.js';
import { CopyTextRowParser } from './copy-text-rows.js';

const { to: copyTo } = copyStreams;

/**
 * Reads the 11 tables inside an exported snapshot as `r` events (docs/capture-spec.md, S5): the
 * snapshot and the slot's stream meet at the slot's consistent point, so there is no gap and no
 * overlap.
 * Each table is one `COPY (SELECT col::text, … ORDER BY key) TO STDOUT`, parsed as it arrives
 * (copy-text-rows.ts) and published publishRows rows at a time (bounded memory: one batch's rows and
 * its chunk's keys; while the publisher waits, the COPY waits on its socket). Every column is cast
 * to text and mapped by columnValue, exactly as the streaming path maps pgoutput's text values,
 * and each event is written as JSON directly from those texts by the streaming path's encoder
 * (contracts/change-event/writer.ts encodeSnapshot; the same text as JSON.stringify of snapshotEvent's
 * object, checked by test/unit/capture-snapshot-json.test.ts), which saves the object per row and
 * its JSON.stringify.
 * COPY rather than a cursor's FETCHes: Postgres produces rows while this process turns the ones
 * before into events, instead of each waiting for the other (bench:snapshot: 6.3 → 4.5 s and
 * 6.1 → 4.3 CPU-s for 476k rows into the local log, Postgres 1.5 → 1.1 CPU-s).
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
  /** Rows per onEvents batch, at most batchRows; default SNAPSHOT_PUBLISH_ROWS. */
  publishRows?: number;
  /** Receives each batch in order, as serialized events; awaited (backpressure). */
  onEvents: (events: EncodedChangeEvent[]) => Promise<void>;
  onProgress?: (progress: SnapshotProgress) => void;
  /** Receives each chunk's key range after its events (awaited). */
  onChunk?: (chunk: SnapshotChunk) => Promise<void>;
  /** Default: every source table. */
  tables?: readonly SourceTable[];
}

/**
 * Rows per published batch. A batch's rows, events and JSON are held across the awaits that
 * publish them, so a large one outlives V8's young generation and is collected by full
 * mark-sweeps: with 5,000 rows per batch (then one FETCH each) the snapshot of a scale-10 totesys
 * took 5.9–6.3 CPU-s into a null writer, with 1,000 3.9–4.4 (bench:snapshot). A chunk (its
 * reconcile record) still spans 5,000 rows: only its keys are held, and fewer reconcile records
 * cost the loader fewer statements.
 */
export const SNAPSHOT_PUBLISH_ROWS = 1000;

export async function readSnapshot(options: ReadSnapshotOptions): Promise<{ rows: number; perTable: Record<string, number> }> {
  const batchRows = options.batchRows ?? 5000;
  const publishRows = Math.min(options.publishRows ?? SNAPSHOT_PUBLISH_ROWS, batchRows);
  const client = createPostgresClient({ url: options.connectionString, applicationName: 'totesys-cdc-snapshot', connectionTimeoutMs: 10_000 });
  client.on('error', () => undefined); // surfaced by the pending query
  await client.connect();
  const perTable: Record<string, number> = {};
  let total = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(options.snapshotName)}`);
    await client.query("SET LOCAL TimeZone = 'UTC'");
    // A table is one COPY, as long as the publisher takes: a role's statement_timeout is for queries.
    await client.query('SET LOCAL statement_timeout = 0');
    const { rows: nowRows } = await client.query<{ ts: Date }>('SELECT now() AS ts');
    const commitTs = nowRows[0].ts.toISOString();
    for (const table of options.tables ?? SOURCE_TABLES) {
      const rows = await readTable(client, table, options, commitTs, batchRows, publishRows);
      perTable[table] = rows;
      total += rows;
    }
    await client.query('COMMIT');
  } finally {
    // After a failure, ending the session rolls the read back: no ROLLBACK is queued behind a COPY
    // cut short (the connection may still be busy with it; pg's end() closes a busy connection).
    await client.end().catch(() => undefined);
  }
  return { rows: total, perTable };
}

async function readTable(client: pg.Client, table: SourceTable, options: ReadSnapshotOptions, commitTs: string, batchRows: number, publishRows: number): Promise<number> {
  const { rows: columns } = await client.query<{ attname: string; atttypid: number }>(
    `SELECT attname, atttypid::int AS atttypid FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [client.escapeIdentifier(table)],
  );
  const totalRows = await estimateRows(client, table);
  const keyColumn = PRIMARY_KEYS[table];
  const keyIndex = columns.findIndex((c) => c.attname === keyColumn);
  const select = columns.map((c) => `${client.escapeIdentifier(c.attname)}::text`).join(', ');
  // Key order: each chunk of batchRows rows is a range of the key space (the reconcile's), and a
  // resnapshot reads the same ranges again. The key is qualified by its table: unqualified, ORDER
  // BY would take the output column of that name, the key's TEXT, and read '10' before '2' (the
  // chunks' ranges, compared as numbers by the loader, would then not hold their keys).
  const from = client.escapeIdentifier(table);
  const rows = client.query(copyTo(`COPY (SELECT ${select} FROM ${from} ORDER BY ${from}.${client.escapeIdentifier(keyColumn)}) TO STDOUT`));
  const parser = new CopyTextRowParser(columns.length);
  const encode = snapshotEncoder(table, columns, keyIndex, options.snapshotLsn, commitTs);
  const keyType = columns[keyIndex].atttypid;
  const started = performance.now();
  let count = 0;
  let index = 0;
  let keyAfter: number | string | null = null;
  let keys: (number | string)[] = [];
  let events: EncodedChangeEvent[] = [];
  const publish = async () => {
    if (events.length === 0) return;
    await options.onEvents(events);
    count += events.length;
    events = [];
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({ table, rows: count, totalRows: Math.max(totalRows, count), rowsPerSec: seconds > 0 ? Math.round(count / seconds) : 0 });
  };
  // While this awaits the publisher, the stream is not read: Postgres waits on a full socket.
  for await (const bytes of rows as AsyncIterable<Buffer>) {
    for (const values of parser.push(bytes)) {
      events.push(encode(values));
      keys.push(columnValue(keyType, values[keyIndex]) as number | string);
      if (events.length === publishRows || keys.length === batchRows) await publish();
      if (keys.length === batchRows) {
        // A full chunk may have more rows after it: it ends at its last key.
        const keyTo = keys[keys.length - 1]!;
        await options.onChunk?.({ table, index: index++, keyAfter, keyTo, keys, commitTs });
        keyAfter = keyTo;
        keys = [];
      }
    }
  }
  parser.end();
  await publish();
  // The table's last chunk (empty when the rows filled the chunk before it) ends unbounded.
  await options.onChunk?.({ table, index, keyAfter, keyTo: null, keys, commitTs });
  if (count === 0) options.onProgress?.({ table, rows: 0, totalRows: 0, rowsPerSec: 0 });
  return count;
}

/**
 * A table's rows as serialized `r` events: the direct writer, or snapshotEvent + JSON.stringify for
 * a relation the writer leaves to the generic path (column names JSON.stringify reorders).
 */
export function snapshotEncoder(
  table: SourceTable,
  columns: { attname: string; atttypid: number }[],
  keyIndex: number,
  snapshotLsn: string,
  commitTs: string,
): (values: (string | null)[]) => EncodedChangeEvent {
  const encoder = new RelationEventEncoder(
    columns.map((c) => ({ name: c.attname, typeOid: c.atttypid })),
    table,
    columns[keyIndex].attname,
  );
  const sourceTail = snapshotSourceTail(snapshotLsn, commitTs);
  const generic = (values: (string | null)[]): EncodedChangeEvent => {
    const event = snapshotEvent(table, columns, values, keyIndex, snapshotLsn, commitTs);
    return { id: event.id, partitionKey: partitionKeyOf(event), json: serializeChangeEvent(event) };
  };
  if (!encoder.direct) return generic;
  return (values) => {
    const keyText = values[keyIndex];
    return (keyText !== null && encoder.encodeSnapshot(keyText, values, snapshotLsn, sourceTail)) || generic(values);
  };
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
