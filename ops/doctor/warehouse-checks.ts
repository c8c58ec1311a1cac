import pg from 'pg';
import { LATEST_SCHEMA_VERSION } from '../../loader/warehouse-schema.js';
import { fail, ok, warn, type Check } from './check.js';
import type { WarehouseFacts } from './read-facts.js';

/**
 * The warehouse's prerequisites (pure). The loader creates its schema and applies migrations
 * itself (loader/warehouse-schema.ts), so it needs CREATE on the database until the schema exists,
 * then USAGE and CREATE in the schema; `replay --rebuild` builds a sibling schema and swaps, so it
 * needs CREATE on the database too (a warning when missing: day-to-day loading works without it).
 */
export function checkWarehouse(facts: WarehouseFacts): Check[] {
  const checks: Check[] = [];
  const user = pg.escapeIdentifier(facts.user);
  const schema = pg.escapeIdentifier(facts.schema);
  const database = pg.escapeIdentifier(facts.database);
  const grantDb = `-- as the owner of database ${facts.database}:\nGRANT CREATE ON DATABASE ${database} TO ${user};`;

  if (!facts.schemaExists) {
    checks.push(
      facts.canCreateInDatabase || facts.superuser
        ? ok('warehouse.schema', `schema ${facts.schema} does not exist yet; the loader creates it on its first run`)
        : fail('warehouse.schema', `schema ${facts.schema} does not exist and ${facts.user} may not create it`, `${grantDb}\n-- or create it for the loader:\nCREATE SCHEMA ${schema} AUTHORIZATION ${user};`),
    );
  } else if (!(facts.canUseSchema && facts.canCreateInSchema) && !facts.superuser) {
    checks.push(fail('warehouse.schema', `${facts.user} lacks ${[facts.canUseSchema ? '' : 'USAGE', facts.canCreateInSchema ? '' : 'CREATE'].filter(Boolean).join(' and ')} on schema ${facts.schema} (owner ${facts.schemaOwner})`, `-- as ${facts.schemaOwner ?? 'the schema owner'}:\nALTER SCHEMA ${schema} OWNER TO ${user};\n-- or at least:\nGRANT USAGE, CREATE ON SCHEMA ${schema} TO ${user};`));
  } else {
    checks.push(ok('warehouse.schema', `schema ${facts.schema} exists (owner ${facts.schemaOwner}); ${facts.user} may use and create in it`));
  }

  if (facts.schemaExists && (facts.canCreateInDatabase || facts.superuser)) checks.push(ok('warehouse.rebuild', `${facts.user} may create schemas (replay --rebuild builds one and swaps it in)`));
  else if (facts.schemaExists) checks.push(warn('warehouse.rebuild', `${facts.user} has no CREATE on database ${facts.database}: loading works, replay --rebuild does not`, grantDb));

  const applied = facts.appliedVersions;
  const current = applied.length ? Math.max(...applied) : 0;
  if (!facts.schemaExists || current === 0) checks.push(ok('warehouse.migrations', `no migrations applied yet; the loader applies 1..${LATEST_SCHEMA_VERSION} on its first run`));
  else if (current > LATEST_SCHEMA_VERSION) checks.push(fail('warehouse.migrations', `the warehouse is at schema version ${current}, newer than this totesys-cdc knows (${LATEST_SCHEMA_VERSION})`, '# deploy the totesys-cdc version that migrated it (or newer); never run an older loader against it'));
  else if (current < LATEST_SCHEMA_VERSION) checks.push(warn('warehouse.migrations', `schema version ${current} of ${LATEST_SCHEMA_VERSION}: the loader applies the pending migrations on its next run`));
  else checks.push(ok('warehouse.migrations', `schema version ${current} (latest)`));

  // Not a failure: per-row checks load the same rows, about 3x slower in a catch-up (docs/performance.md).
  const keys = facts.keyChecks;
  if (keys.mode === 'set-based') checks.push(ok('warehouse.key-checks', 'fact foreign keys are checked set-based (one lock per referenced key, no per-row triggers)'));
  else {
    const fix = keys.reason?.startsWith('this role')
      ? `-- PostgreSQL 15 or later, as a superuser (RDS: see docs/deploy.md):\nGRANT SET ON PARAMETER session_replication_role TO ${user};`
      : '# see docs/performance.md, "Foreign keys checked set-based"';
    checks.push(warn('warehouse.key-checks', `fact foreign keys are checked row by row: ${keys.reason}`, fix));
  }
  return checks;
}
