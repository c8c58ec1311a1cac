import pg from 'pg';
import { errorMessage, isAuthenticationFailure } from '../../platform/errors.js';
import { captureUserSql } from './capture-user-sql.js';
import { fail, type Check, type DoctorReport } from './check.js';
import { readSourceFacts, readWarehouseFacts } from './read-facts.js';
import { checkSource, type SourceCheckOptions } from './source-checks.js';
import { checkWarehouse } from './warehouse-checks.js';

export interface DoctorTargets {
  /** Absent: the source is not checked. */
  sourceUrl?: string;
  warehouseUrl?: string;
  warehouseSchema: string;
  capture: SourceCheckOptions;
}

/** Checks whose failure means the capture user lacks rights: the report then carries the least-privilege SQL. */
const PRIVILEGE_CHECKS = new Set(['source.replication_role', 'source.select', 'source.publication', 'source.replica_identity']);

export async function runDoctor(targets: DoctorTargets): Promise<DoctorReport> {
  const checks: Check[] = [];
  let sourcePlatform: 'postgres' | 'rds' = 'postgres';
  let sourceNames = { database: 'totesys', schema: 'public' };
  if (targets.sourceUrl) {
    const result = await withClient(targets.sourceUrl, 'source', async (client) => {
      const facts = await readSourceFacts(client, targets.capture);
      sourcePlatform = facts.rds ? 'rds' : 'postgres';
      sourceNames = { database: facts.database, schema: facts.schema };
      return checkSource(facts, targets.capture);
    });
    checks.push(...result);
  }
  if (targets.warehouseUrl) checks.push(...(await withClient(targets.warehouseUrl, 'warehouse', (client) => readWarehouseFacts(client, targets.warehouseSchema).then(checkWarehouse))));
  const privilegeFailed = checks.some((c) => c.status === 'fail' && PRIVILEGE_CHECKS.has(c.id));
  return {
    ok: checks.every((c) => c.status !== 'fail'),
    checks,
    ...(privilegeFailed ? { captureUserSql: captureUserSql({ platform: sourcePlatform, ...sourceNames, publicationName: targets.capture.publicationName }) } : {}),
  };
}

/** A database that cannot be reached is a failed check (with what to do), not a crash. */
async function withClient(url: string, which: 'source' | 'warehouse', fn: (client: pg.Client) => Promise<Check[]>): Promise<Check[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'totesys-cdc-doctor' });
  client.on('error', () => undefined); // a dropped connection surfaces through the running query
  try {
    await client.connect();
  } catch (error) {
    const fix = isAuthenticationFailure(error)
      ? `# the user or password is wrong: check the ${which} secret (or --${which}-url)`
      : `# check the host and port, the security group (ingress from this task), and that the database accepts TLS connections from here`;
    return [fail(`${which}.connect`, `cannot connect to the ${which}: ${errorMessage(error)}`, fix)];
  }
  try {
    return await fn(client);
  } catch (error) {
    return [fail(`${which}.query`, `reading the ${which}'s catalog failed: ${errorMessage(error)}`)];
  } finally {
    await client.end().catch(() => undefined);
  }
}
