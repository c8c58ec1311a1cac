import pg from 'pg';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';

/**
 * The least-privilege capture user, as SQL an operator runs once. The capture needs: LOGIN and
 * replication (the REPLICATION attribute, or on RDS the rds_replication role) to stream; SELECT
 * on the 11 tables for the initial snapshot; ownership of the publication (it records its snapshot
 * marker as the publication's COMMENT). It does NOT need to own the tables: their owner sets
 * REPLICA IDENTITY FULL and creates the publication, then hands the publication over.
 * Printed by `doctor` and reproduced in docs/source-prerequisites.md (a test keeps them equal).
 */
export type SourcePlatform = 'postgres' | 'rds';

export interface CaptureUserSqlOptions {
  platform: SourcePlatform;
  /** The capture's login role (default totesys_cdc_capture). */
  user?: string;
  database?: string;
  schema?: string;
  publicationName?: string;
}

const DEFAULT_CAPTURE_USER = 'totesys_cdc_capture';

export function captureUserSql(options: CaptureUserSqlOptions): string {
  const user = pg.escapeIdentifier(options.user ?? DEFAULT_CAPTURE_USER);
  const database = pg.escapeIdentifier(options.database ?? 'totesys');
  const schema = pg.escapeIdentifier(options.schema ?? 'public');
  const publication = pg.escapeIdentifier(options.publicationName ?? 'totesys_cdc');
  const tables = SOURCE_TABLES.map((t) => `${schema}.${pg.escapeIdentifier(t)}`);
  const rds = options.platform === 'rds';
  return [
    rds ? '-- 1. As the RDS master user: the capture role, allowed to stream changes.' : '-- 1. As a superuser: the capture role, allowed to stream changes.',
    rds ? `CREATE ROLE ${user} WITH LOGIN;` : `CREATE ROLE ${user} WITH LOGIN REPLICATION;`,
    ...(rds ? [`GRANT rds_replication TO ${user};`] : []),
    `-- then, in psql, set its password (prompted, never in a file or the shell history): \\password ${options.user ?? DEFAULT_CAPTURE_USER}`,
    '',
    '-- 2. As the owner of the totesys tables, connected to the totesys database: read access for the',
    '--    initial snapshot, full row images in the WAL, and the publication, handed over to the capture.',
    `GRANT CONNECT ON DATABASE ${database} TO ${user};`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${user};`,
    `GRANT SELECT ON TABLE ${tables.join(', ')} TO ${user};`,
    ...tables.map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL;`),
    `CREATE PUBLICATION ${publication} FOR TABLE ${tables.join(', ')};`,
    '-- the new owner of a publication needs CREATE on the database, and you need to be able to SET ROLE to it:',
    `GRANT CREATE ON DATABASE ${database} TO ${user};`,
    `GRANT ${user} TO CURRENT_USER;`,
    `ALTER PUBLICATION ${publication} OWNER TO ${user};`,
    '-- both were only needed for the hand-over:',
    `REVOKE CREATE ON DATABASE ${database} FROM ${user};`,
    `REVOKE ${user} FROM CURRENT_USER;`,
  ].join('\n');
}
