import { WAREHOUSE_TABLES, type WarehouseTable } from '../contracts/warehouse-model.js';
import { readWarehouseWatermark } from './load-ledger.js';
import { DEFAULT_WAREHOUSE_SCHEMA, FAILURES_TABLE, LEDGER_TABLE, qualified, SCHEMA_VERSION_TABLE, WATERMARKS_TABLE } from './warehouse-ddl.js';
import { openWarehousePool, type WarehouseTarget } from './warehouse-pool.js';

/** What `status` shows about the warehouse. Counts are exact (`count(*)`): fine at totesys scale. */
export interface WarehouseStatus {
  schema: string;
  /** false when the schema has not been migrated yet (nothing loaded). */
  initialised: boolean;
  schemaVersion: number | null;
  rowsByTable: Partial<Record<WarehouseTable, number>>;
  manifestsLoaded: number;
  lastLoadAt: string | null;
  newestCommitTs: string | null;
  freshnessMs: number | null;
  /** Every change committed before this is in the warehouse (contracts/watermark.ts); null before the first watermark. */
  watermarkTs: string | null;
  /** now − watermarkTs: true on a quiet source, grows when any stage stops. */
  watermarkAgeMs: number | null;
  failedManifests: number;
  parkedManifests: number;
}

export async function readWarehouseStatus(target: string | WarehouseTarget, schema = DEFAULT_WAREHOUSE_SCHEMA): Promise<WarehouseStatus> {
  const { pool, close } = openWarehousePool(typeof target === 'string' ? { warehouseUrl: target } : target, 'totesys-cdc-status');
  const status: WarehouseStatus = {
    schema,
    initialised: false,
    schemaVersion: null,
    rowsByTable: {},
    manifestsLoaded: 0,
    lastLoadAt: null,
    newestCommitTs: null,
    freshnessMs: null,
    watermarkTs: null,
    watermarkAgeMs: null,
    failedManifests: 0,
    parkedManifests: 0,
  };
  try {
    const client = await pool.connect();
    try {
      const { rows: exists } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`${client.escapeIdentifier(schema)}.${SCHEMA_VERSION_TABLE}`]);
      if (!exists[0].ok) return status;
      status.initialised = true;
      const counts = WAREHOUSE_TABLES.map((t) => `(SELECT count(*) FROM ${qualified(schema, t)})::bigint AS ${t}`).join(', ');
      const { rows: tableCounts } = await client.query<Record<string, string>>(`SELECT ${counts}`);
      for (const table of WAREHOUSE_TABLES) status.rowsByTable[table] = Number(tableCounts[0][table]);
      const { rows } = await client.query<{ version: number | null; loaded: string; last_load: Date | null; newest: Date | null; failed: string; parked: string }>(
        `SELECT (SELECT max(version) FROM ${qualified(schema, SCHEMA_VERSION_TABLE)}) AS version,
                count(*) AS loaded, max(loaded_at) AS last_load, max(max_commit_ts) AS newest,
                (SELECT count(*) FROM ${qualified(schema, FAILURES_TABLE)}) AS failed,
                (SELECT count(*) FROM ${qualified(schema, FAILURES_TABLE)} WHERE parked) AS parked
         FROM ${qualified(schema, LEDGER_TABLE)}`,
      );
      const r = rows[0];
      status.schemaVersion = r.version;
      status.manifestsLoaded = Number(r.loaded);
      status.lastLoadAt = r.last_load?.toISOString() ?? null;
      status.newestCommitTs = r.newest?.toISOString() ?? null;
      status.freshnessMs = r.newest ? Math.max(0, Date.now() - r.newest.getTime()) : null;
      status.failedManifests = Number(r.failed);
      status.parkedManifests = Number(r.parked);
      const { rows: watermarks } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [qualified(schema, WATERMARKS_TABLE)]);
      if (watermarks[0].ok) Object.assign(status, await readWarehouseWatermark(client, schema));
      return status;
    } finally {
      client.release();
    }
  } finally {
    await close();
  }
}
