import pg from 'pg';
import type { ReconcileKey } from '../../contracts/reconcile.js';
import { PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import type { ControlConnection } from '../control/control-connection.js';
import type { Chunk, ChunkSource } from './incremental-snapshot.js';

/**
 * The resnapshot's reads and watermark messages on the capture's control connection (plain,
 * autocommit): each chunk is read in its own statement between its two watermarks.
 */
export function controlChunkSource(control: Pick<ControlConnection, 'query'>): ChunkSource {
  return {
    async emit(prefix, content) {
      await control.query('SELECT pg_logical_emit_message(false, $1, $2)', [prefix, content]);
    },
    async readChunk(table: SourceTable, keyAfter: ReconcileKey | null, limit: number): Promise<Chunk> {
      const { rows: columns } = await control.query<{ attname: string; atttypid: number }>(
        `SELECT attname, atttypid::int AS atttypid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [pg.escapeIdentifier(table)],
      );
      const key = pg.escapeIdentifier(PRIMARY_KEYS[table]);
      const select = columns.map((c) => `${pg.escapeIdentifier(c.attname)}::text`).join(', ');
      // One statement: the rows and the read's time come from the same snapshot. Text for the bound
      // is cast to the key column's type by Postgres.
      const { rows } = await control.query<{ ts: string; r: (string | null)[] }>(
        `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, ARRAY[${select}] AS r FROM ${pg.escapeIdentifier(table)}
          WHERE $1::text IS NULL OR ${key} > $1::text::${keyTypeCast(table)} ORDER BY ${key} LIMIT $2`,
        [keyAfter === null ? null : String(keyAfter), limit],
      );
      const readAt = rows[0]?.ts ?? new Date().toISOString();
      return { columns, rows: rows.map((row) => row.r), readAt };
    },
  };
}

/** Every totesys primary key is an integer (contracts/source-tables.ts). */
function keyTypeCast(_table: SourceTable): string {
  return 'bigint';
}
