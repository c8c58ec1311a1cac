import { readFile } from 'node:fs/promises';
import { IGNORED_SOURCE_TABLES, SOURCE_TABLES, type SourceTable } from '../contracts/source-tables.js';
import { EXPECTED_SOURCE_COLUMNS } from './source-columns.js';

/** The slice of a pg client this module needs (pg.Client and pg.PoolClient both fit). */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

const SCHEMA_SQL_URL = new URL('./schema.sql', import.meta.url);

/** Creates the totesys tables and enums (idempotent: safe on a database that already has them). */
export async function applySourceSchema(client: Queryable): Promise<void> {
  const sql = await readFile(SCHEMA_SQL_URL, 'utf8');
  await client.query(sql);
}

export interface ColumnDescription {
  name: string;
  /** e.g. 'integer', 'character varying', 'character varying(3)', 'numeric(10,2)', 'timestamp(3) without time zone', or the enum's name. */
  type: string;
  nullable: boolean;
  /** 1-based ordinal position. */
  position: number;
}

export type SourceSchemaDescription = Record<string, ColumnDescription[]>;

interface InformationSchemaColumn extends Record<string, unknown> {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  ordinal_position: number;
  character_maximum_length: number | null;
  numeric_precision: number | null;
  numeric_scale: number | null;
  datetime_precision: number | null;
}

function columnType(c: InformationSchemaColumn): string {
  switch (c.data_type) {
    case 'USER-DEFINED':
      return c.udt_name;
    case 'character varying':
    case 'character':
      return c.character_maximum_length === null ? c.data_type : `${c.data_type}(${c.character_maximum_length})`;
    case 'numeric':
      return c.numeric_precision === null ? 'numeric' : `numeric(${c.numeric_precision},${c.numeric_scale ?? 0})`;
    case 'timestamp without time zone':
    case 'timestamp with time zone':
      return c.datetime_precision === null || c.datetime_precision === 6 ? c.data_type : c.data_type.replace('timestamp', `timestamp(${c.datetime_precision})`);
    default:
      return c.data_type;
  }
}

/**
 * Columns of the 11 totesys tables and `_prisma_migrations` found in the current schema, in
 * ordinal order. Tables that do not exist are absent from the result.
 */
export async function describeSourceSchema(client: Queryable): Promise<SourceSchemaDescription> {
  const tables = [...SOURCE_TABLES, ...IGNORED_SOURCE_TABLES];
  const { rows } = await client.query<InformationSchemaColumn>(
    `SELECT table_name, column_name, data_type, udt_name, is_nullable, ordinal_position::int AS ordinal_position,
            character_maximum_length::int AS character_maximum_length, numeric_precision::int AS numeric_precision,
            numeric_scale::int AS numeric_scale, datetime_precision::int AS datetime_precision
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1::text[])
      ORDER BY table_name, ordinal_position`,
    [tables],
  );
  const description: SourceSchemaDescription = {};
  for (const row of rows) {
    (description[row.table_name] ??= []).push({
      name: row.column_name,
      type: columnType(row),
      nullable: row.is_nullable === 'YES',
      position: row.ordinal_position,
    });
  }
  return description;
}

export interface SourceSchemaProblem {
  table: SourceTable;
  column?: string;
  /** `error`: the pipeline cannot capture this (missing table/column); `warning`: a type or nullability that differs from totesys. */
  severity: 'error' | 'warning';
  message: string;
}

/**
 * "Does this database look like totesys?" for an external `--source-url`: every captured table
 * and column must exist; differing types or nullability are reported as warnings (the real
 * database has been seen with loosened DDL). Empty when the database matches schema.sql.
 */
export async function checkSourceSchema(client: Queryable): Promise<SourceSchemaProblem[]> {
  const actual = await describeSourceSchema(client);
  const problems: SourceSchemaProblem[] = [];
  for (const table of SOURCE_TABLES) {
    const columns = actual[table];
    if (!columns) {
      problems.push({ table, severity: 'error', message: `table "${table}" is missing` });
      continue;
    }
    const byName = new Map(columns.map((c) => [c.name, c]));
    for (const expected of EXPECTED_SOURCE_COLUMNS[table]) {
      const found = byName.get(expected.name);
      if (!found) {
        problems.push({ table, column: expected.name, severity: 'error', message: `column "${table}.${expected.name}" is missing` });
        continue;
      }
      if (found.type !== expected.type) {
        problems.push({ table, column: expected.name, severity: 'warning', message: `column "${table}.${expected.name}" is ${found.type}, expected ${expected.type}` });
      }
      if (found.nullable !== expected.nullable) {
        problems.push({ table, column: expected.name, severity: 'warning', message: `column "${table}.${expected.name}" is ${found.nullable ? 'nullable' : 'NOT NULL'}, expected ${expected.nullable ? 'nullable' : 'NOT NULL'}` });
      }
    }
  }
  return problems;
}
