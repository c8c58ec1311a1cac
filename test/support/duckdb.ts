import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Reads Parquet bytes with DuckDB, an independent reader, so tests do not only check that our
 * writer agrees with our own reader. Values come back as DuckDB renders them to JS.
 */
export async function readParquetWithDuckDb(bytes: Uint8Array, sql = 'SELECT * FROM file'): Promise<{ rows: Record<string, unknown>[]; types: Record<string, string> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duckdb-read-'));
  const file = path.join(dir, 'data.parquet');
  await fs.writeFile(file, bytes);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const query = sql.replace(/\bfile\b/, `read_parquet('${file.replace(/'/g, "''")}')`);
    const reader = await connection.runAndReadAll(query);
    const names = reader.columnNames();
    const types: Record<string, string> = {};
    names.forEach((name, i) => (types[name] = reader.columnType(i).toString()));
    return { rows: reader.getRowObjectsJS() as Record<string, unknown>[], types };
  } finally {
    connection.closeSync();
    instance.closeSync();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
