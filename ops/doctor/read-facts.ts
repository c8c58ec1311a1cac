import type pg from 'pg';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import type { WarehouseClient } from '../../loader/warehouse-pool.js';
import { decideFactKeyChecks, type FactKeyCheckMode } from '../../loader/fact-key-checks.js';
import { qualified, SCHEMA_VERSION_TABLE } from '../../loader/warehouse-ddl.js';

/**
 * The doctor's only I/O: a few catalog queries on each database, turned into plain facts the
 * checks (source-checks.ts, warehouse-checks.ts) judge. Read-only: nothing here creates or alters
 * anything, so `doctor` is safe to run against production at any time.
 */
type Queryable = Pick<pg.Client, 'query'>;

export interface SourceTableFacts {
  table: string;
  exists: boolean;
  owner: string | null;
  /** The connected user owns the table (directly or through a role it belongs to). */
  ownedByUser: boolean;
  canSelect: boolean;
  /** pg_class.relreplident: d default (primary key), f full, i index, n nothing. */
  replicaIdentity: 'd' | 'f' | 'i' | 'n' | null;
  hasPrimaryKey: boolean;
}

export interface SourceFacts {
  serverVersionNum: number;
  database: string;
  schema: string;
  user: string;
  superuser: boolean;
  /** The REPLICATION role attribute. */
  replicationAttribute: boolean;
  walLevel: string;
  /** RDS (or Aurora): the rds_superuser role exists. */
  rds: boolean;
  /** current_setting('rds.logical_replication'), null outside RDS. */
  rdsLogicalReplication: string | null;
  /** Member of rds_replication (null when the role does not exist). */
  rdsReplicationMember: boolean | null;
  maxReplicationSlots: number;
  replicationSlotsUsed: number;
  maxWalSenders: number;
  walSendersUsed: number;
  canCreateInDatabase: boolean;
  /** EXECUTE on pg_logical_emit_message: the capture's heartbeat (hardened servers revoke it from PUBLIC). */
  canEmitHeartbeat: boolean;
  /** Its signature on this server, e.g. pg_logical_emit_message(boolean,text,text,boolean). */
  heartbeatFunction: string | null;
  slot: { exists: boolean; plugin: string | null; database: string | null; active: boolean; walStatus: string | null };
  /** `tables`: what the publication publishes, as schema.table. */
  publication: { exists: boolean; owner: string | null; ownedByUser: boolean; allTables: boolean; tables: string[] };
  tables: SourceTableFacts[];
}

export async function readSourceFacts(client: Queryable, names: { slotName: string; publicationName: string }): Promise<SourceFacts> {
  const { rows: [s] } = await client.query(
    `SELECT current_setting('server_version_num')::int AS version_num, current_database() AS database, current_schema() AS schema,
            current_user AS "user", r.rolsuper AS superuser, r.rolreplication AS replication,
            current_setting('wal_level') AS wal_level,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AS rds,
            current_setting('rds.logical_replication', true) AS rds_logical_replication,
            CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
                 THEN pg_has_role(current_user, 'rds_replication', 'MEMBER') END AS rds_replication_member,
            current_setting('max_replication_slots')::int AS max_slots,
            (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
            current_setting('max_wal_senders')::int AS max_senders,
            (SELECT count(*)::int FROM pg_stat_replication) AS senders_used,
            has_database_privilege(current_database(), 'CREATE') AS can_create,
            -- the text-content overload the capture calls (PostgreSQL 17 added a 4th argument, flush)
            (SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = 'pg_logical_emit_message' AND p.proargtypes[2] = 'text'::regtype LIMIT 1) AS heartbeat_fn,
            (SELECT has_function_privilege(p.oid, 'EXECUTE') FROM pg_proc p WHERE p.proname = 'pg_logical_emit_message' AND p.proargtypes[2] = 'text'::regtype LIMIT 1) AS can_heartbeat
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const { rows: slotRows } = await client.query(
    'SELECT plugin, database, active, wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [names.slotName],
  );
  const { rows: pubRows } = await client.query(
    `SELECT pg_get_userbyid(pubowner) AS owner, pg_has_role(current_user, pubowner, 'MEMBER') AS owned, puballtables
       FROM pg_publication WHERE pubname = $1`,
    [names.publicationName],
  );
  const { rows: pubTableRows } = await client.query<{ name: string }>(
    'SELECT schemaname || \'.\' || tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1',
    [names.publicationName],
  );
  const { rows: tableRows } = await client.query(
    `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner, pg_has_role(current_user, c.relowner, 'MEMBER') AS owned,
            has_table_privilege(c.oid, 'SELECT') AS can_select, c.relreplident,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk
       FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)`,
    [SOURCE_TABLES as readonly string[]],
  );
  const byName = new Map(tableRows.map((r) => [r.relname as string, r]));
  const slot = slotRows[0];
  const pub = pubRows[0];
  return {
    serverVersionNum: s.version_num,
    database: s.database,
    schema: s.schema,
    user: s.user,
    superuser: s.superuser,
    replicationAttribute: s.replication,
    walLevel: s.wal_level,
    rds: s.rds,
    rdsLogicalReplication: s.rds_logical_replication ?? null,
    rdsReplicationMember: s.rds_replication_member ?? null,
    maxReplicationSlots: s.max_slots,
    replicationSlotsUsed: s.slots_used,
    maxWalSenders: s.max_senders,
    walSendersUsed: s.senders_used,
    canCreateInDatabase: s.can_create,
    canEmitHeartbeat: s.can_heartbeat === true,
    heartbeatFunction: s.heartbeat_fn ?? null,
    slot: slot
      ? { exists: true, plugin: slot.plugin, database: slot.database, active: slot.active, walStatus: slot.wal_status ?? null }
      : { exists: false, plugin: null, database: null, active: false, walStatus: null },
    publication: pub
      ? { exists: true, owner: pub.owner, ownedByUser: pub.owned, allTables: pub.puballtables, tables: pubTableRows.map((r) => r.name) }
      : { exists: false, owner: null, ownedByUser: false, allTables: false, tables: [] },
    tables: SOURCE_TABLES.map((table) => {
      const r = byName.get(table);
      return r
        ? { table, exists: true, owner: r.owner, ownedByUser: r.owned, canSelect: r.can_select, replicaIdentity: r.relreplident, hasPrimaryKey: r.has_pk }
        : { table, exists: false, owner: null, ownedByUser: false, canSelect: false, replicaIdentity: null, hasPrimaryKey: false };
    }),
  };
}

export interface WarehouseFacts {
  database: string;
  user: string;
  superuser: boolean;
  schema: string;
  schemaExists: boolean;
  schemaOwner: string | null;
  canUseSchema: boolean;
  canCreateInSchema: boolean;
  /** CREATE on the database: needed to create the schema, and by `replay --rebuild` (builds a schema beside it and swaps). */
  canCreateInDatabase: boolean;
  /** Applied migration versions (empty when the schema or its version table does not exist). */
  appliedVersions: number[];
  /** How the loader will check the fact tables' foreign keys (loader/fact-key-checks.ts), and why not set-based. */
  keyChecks: { mode: FactKeyCheckMode; reason?: string };
}

export async function readWarehouseFacts(client: Queryable, schema: string): Promise<WarehouseFacts> {
  const { rows: [w] } = await client.query(
    `SELECT current_database() AS database, current_user AS "user", r.rolsuper AS superuser,
            n.oid IS NOT NULL AS schema_exists, pg_get_userbyid(n.nspowner) AS schema_owner,
            CASE WHEN n.oid IS NULL THEN false ELSE has_schema_privilege(n.oid, 'USAGE') END AS can_use,
            CASE WHEN n.oid IS NULL THEN false ELSE has_schema_privilege(n.oid, 'CREATE') END AS can_create_schema,
            has_database_privilege(current_database(), 'CREATE') AS can_create_db
       FROM pg_roles r LEFT JOIN pg_namespace n ON n.nspname = $1
      WHERE r.rolname = current_user`,
    [schema],
  );
  let appliedVersions: number[] = [];
  if (w.schema_exists && w.can_use) {
    const versionTable = qualified(schema, SCHEMA_VERSION_TABLE);
    const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [versionTable]);
    if (rows[0].exists) {
      const versions = await client.query<{ version: number }>(`SELECT version FROM ${versionTable} ORDER BY version`);
      appliedVersions = versions.rows.map((r) => r.version);
    }
  }
  // The decision probes SET LOCAL in a savepoint: rolled back, nothing changes.
  await client.query('BEGIN');
  const keyChecks = await decideFactKeyChecks(client as Pick<WarehouseClient, 'query'>, schema).finally(() => client.query('ROLLBACK'));
  return {
    database: w.database,
    user: w.user,
    superuser: w.superuser,
    keyChecks,
    schema,
    schemaExists: w.schema_exists,
    schemaOwner: w.schema_owner ?? null,
    canUseSchema: w.can_use,
    canCreateInSchema: w.can_create_schema,
    canCreateInDatabase: w.can_create_db,
    appliedVersions,
  };
}
