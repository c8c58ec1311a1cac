import pg from 'pg';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { fail, ok, warn, type Check } from './check.js';
import type { SourceFacts, SourceTableFacts } from './read-facts.js';

/**
 * The source's prerequisites, judged from facts alone (pure: unit-tested without a database).
 * Each failure carries the exact SQL (plain Postgres) or parameter-group change (RDS) that fixes
 * it. RDS is recognised by its rds_superuser role; there wal_level is not set directly but through
 * rds.logical_replication in the DB (or, for Aurora, DB cluster) parameter group.
 */
export interface SourceCheckOptions {
  slotName: string;
  publicationName: string;
  /** The capture sets REPLICA IDENTITY FULL itself when it owns the tables (--replica-identity-full). */
  replicaIdentityFull: boolean;
}

const id = (name: string) => pg.escapeIdentifier(name);

/** Free slots the capture needs: its own, and a bridge slot while a snapshot is redone (slot-preparation.ts). */
const SLOTS_NEEDED = 2;

function rdsParameterChange(parameters: Record<string, string | number>): string {
  const list = Object.entries(parameters)
    .map(([name, value]) => `"ParameterName=${name},ParameterValue=${value},ApplyMethod=pending-reboot"`)
    .join(' ');
  return [
    '# in the instance\'s custom DB parameter group (a default group cannot be changed: create one and attach it);',
    '# Aurora: the same parameters in the DB cluster parameter group (aws rds modify-db-cluster-parameter-group)',
    `aws rds modify-db-parameter-group --db-parameter-group-name <your-parameter-group> --parameters ${list}`,
    'aws rds reboot-db-instance --db-instance-identifier <your-instance>',
  ].join('\n');
}

function settingChange(facts: SourceFacts, parameters: Record<string, string | number>): string {
  if (facts.rds) return rdsParameterChange(parameters);
  return [...Object.entries(parameters).map(([name, value]) => `ALTER SYSTEM SET ${name} = ${typeof value === 'number' ? value : pg.escapeLiteral(value)};`), '-- then restart Postgres (these settings take effect only at server start)'].join('\n');
}

export function checkSource(facts: SourceFacts, options: SourceCheckOptions): Check[] {
  const checks: Check[] = [];
  const user = id(facts.user);

  // wal_level: on RDS it follows rds.logical_replication.
  if (facts.rds) {
    const on = facts.rdsLogicalReplication === 'on' || facts.rdsLogicalReplication === '1';
    checks.push(
      on && facts.walLevel === 'logical'
        ? ok('source.rds_logical_replication', 'RDS: rds.logical_replication is on (wal_level=logical)')
        : fail('source.rds_logical_replication', `RDS: rds.logical_replication is ${facts.rdsLogicalReplication ?? 'unset'}, wal_level is ${facts.walLevel}`, rdsParameterChange({ 'rds.logical_replication': 1 })),
    );
  } else {
    checks.push(
      facts.walLevel === 'logical'
        ? ok('source.wal_level', 'wal_level=logical')
        : fail('source.wal_level', `wal_level is ${facts.walLevel}; logical decoding needs wal_level=logical`, settingChange(facts, { wal_level: 'logical' })),
    );
  }

  // The right to stream: superuser, the REPLICATION attribute, or on RDS membership in rds_replication.
  if (facts.superuser) checks.push(ok('source.replication_role', `${facts.user} is a superuser (a dedicated least-privilege user is better: see docs/source-prerequisites.md)`));
  else if (facts.replicationAttribute) checks.push(ok('source.replication_role', `${facts.user} has the REPLICATION attribute`));
  else if (facts.rdsReplicationMember) checks.push(ok('source.replication_role', `${facts.user} is a member of rds_replication`));
  else {
    checks.push(
      fail(
        'source.replication_role',
        `${facts.user} may not stream changes (no REPLICATION attribute${facts.rds ? ', not in rds_replication' : ''})`,
        facts.rds ? `-- as the RDS master user:\nGRANT rds_replication TO ${user};` : `-- as a superuser:\nALTER ROLE ${user} WITH REPLICATION;`,
      ),
    );
  }

  // Replication slots: the capture's own exists already, or there must be room for it (and its bridge).
  const freeSlots = facts.maxReplicationSlots - facts.replicationSlotsUsed;
  const slotsWanted = facts.replicationSlotsUsed + SLOTS_NEEDED - (facts.slot.exists ? 1 : 0);
  if (facts.slot.exists && freeSlots >= 1) checks.push(ok('source.replication_slots', `slot ${options.slotName} exists; ${freeSlots} of ${facts.maxReplicationSlots} slots free`));
  else if (!facts.slot.exists && freeSlots >= SLOTS_NEEDED) checks.push(ok('source.replication_slots', `${freeSlots} of ${facts.maxReplicationSlots} replication slots free`));
  else {
    const summary = `${freeSlots} of ${facts.maxReplicationSlots} replication slots free`;
    const fix = settingChange(facts, { max_replication_slots: Math.max(slotsWanted, 10) });
    if (!facts.slot.exists && freeSlots < 1) checks.push(fail('source.replication_slots', `${summary}: the capture cannot create its slot ${options.slotName}`, fix));
    else checks.push(warn('source.replication_slots', `${summary}: no room for the bridge slot a re-snapshot creates`, fix));
  }

  // WAL senders: one per streaming capture (an active slot already holds its sender).
  const freeSenders = facts.maxWalSenders - facts.walSendersUsed;
  if (facts.slot.active || freeSenders >= 1) checks.push(ok('source.wal_senders', `${freeSenders} of ${facts.maxWalSenders} WAL senders free${facts.slot.active ? ` (slot ${options.slotName} is streaming)` : ''}`));
  else checks.push(fail('source.wal_senders', `no free WAL sender (${facts.walSendersUsed} of ${facts.maxWalSenders} in use)`, settingChange(facts, { max_wal_senders: Math.max(facts.walSendersUsed + 2, 10) })));

  if (facts.slot.exists) {
    if (facts.slot.plugin !== 'pgoutput' || facts.slot.database !== facts.database) {
      checks.push(fail('source.slot', `slot ${options.slotName} exists but is not a pgoutput slot on ${facts.database} (plugin ${facts.slot.plugin}, database ${facts.slot.database})`, `-- it belongs to something else: choose another --slot-name, or drop it if it is abandoned:\nSELECT pg_drop_replication_slot(${pg.escapeLiteral(options.slotName)});`));
    } else if (facts.slot.walStatus === 'lost') {
      checks.push(fail('source.slot', `slot ${options.slotName} is lost (the WAL it needed was removed): changes since its last confirmed position were never captured`, 'totesys-cdc sync   # (or up) the capture drops the lost slot, re-reads every table and reconciles the warehouse; raise max_slot_wal_keep_size or keep the capture running so it does not happen again'));
    } else checks.push(ok('source.slot', `slot ${options.slotName} exists (${facts.slot.active ? 'active' : 'inactive'}, wal_status ${facts.slot.walStatus ?? '-'})`));
  }

  // Without its heartbeat the capture still confirms on keepalives, but a quiet source's slot then
  // advances only when the server sends them, and status shows no heartbeat.
  checks.push(
    facts.canEmitHeartbeat
      ? ok('source.heartbeat', `${facts.user} may call pg_logical_emit_message (the capture's heartbeat)`)
      : warn('source.heartbeat', `${facts.user} may not call pg_logical_emit_message: no capture heartbeat (it falls back to keepalives)`, `GRANT EXECUTE ON FUNCTION ${facts.heartbeatFunction ?? 'pg_logical_emit_message(boolean, text, text)'} TO ${user};`),
  );
  checks.push(...tableChecks(facts, options));
  checks.push(publicationCheck(facts, options));
  return checks;
}

function tableChecks(facts: SourceFacts, options: SourceCheckOptions): Check[] {
  const checks: Check[] = [];
  const user = id(facts.user);
  const qualified = (t: string) => `${id(facts.schema)}.${id(t)}`;
  const missing = facts.tables.filter((t) => !t.exists);
  if (missing.length) {
    checks.push(fail('source.tables', `schema ${facts.schema} of ${facts.database} lacks ${missing.map((t) => t.table).join(', ')}`, '-- wrong database or schema? point --source-url at the totesys database (its search_path must reach the 11 tables)'));
    return checks;
  }
  checks.push(ok('source.tables', `the ${SOURCE_TABLES.length} totesys tables exist in ${facts.database}.${facts.schema}`));

  const unreadable = facts.tables.filter((t) => !t.canSelect);
  checks.push(
    unreadable.length
      ? fail('source.select', `${facts.user} cannot read ${unreadable.map((t) => t.table).join(', ')} (the initial snapshot reads every table)`, `GRANT USAGE ON SCHEMA ${id(facts.schema)} TO ${user};\nGRANT SELECT ON TABLE ${unreadable.map((t) => qualified(t.table)).join(', ')} TO ${user};`)
      : ok('source.select', `${facts.user} can read the ${SOURCE_TABLES.length} tables`),
  );

  // Without a usable replica identity, an UPDATE or DELETE on a published table FAILS on the source.
  const unusable = facts.tables.filter((t) => !hasUsableIdentity(t));
  const notFull = facts.tables.filter((t) => t.replicaIdentity !== 'f');
  const alterFull = (tables: SourceTableFacts[]) => `-- as the owner of the tables:\n${tables.map((t) => `ALTER TABLE ${qualified(t.table)} REPLICA IDENTITY FULL;`).join('\n')}`;
  if (options.replicaIdentityFull && notFull.length) {
    const notOwned = notFull.filter((t) => !t.ownedByUser && !facts.superuser);
    if (notOwned.length === 0) checks.push(ok('source.replica_identity', `${notFull.map((t) => t.table).join(', ')} not FULL yet: the capture sets REPLICA IDENTITY FULL itself (it owns them)`));
    else checks.push(fail('source.replica_identity', `REPLICA IDENTITY FULL is wanted but ${notOwned.map((t) => t.table).join(', ')} ${notOwned.length > 1 ? 'are' : 'is'} not FULL and not owned by ${facts.user}, so the capture cannot set it`, alterFull(notOwned)));
  } else if (unusable.length) {
    checks.push(fail('source.replica_identity', `${unusable.map((t) => t.table).join(', ')}: no primary key and no replica identity (UPDATE and DELETE would fail once published)`, alterFull(unusable)));
  } else {
    checks.push(ok('source.replica_identity', options.replicaIdentityFull ? 'every table has REPLICA IDENTITY FULL' : 'every table has a usable replica identity'));
  }
  return checks;
}

function hasUsableIdentity(t: SourceTableFacts): boolean {
  return t.replicaIdentity === 'f' || t.replicaIdentity === 'i' || (t.replicaIdentity === 'd' && t.hasPrimaryKey);
}

/**
 * The publication: the capture creates it (CREATE on the database and ownership of every table, or
 * superuser) or uses an existing one it owns (it writes its snapshot marker as the COMMENT).
 */
function publicationCheck(facts: SourceFacts, options: SourceCheckOptions): Check {
  const pub = id(options.publicationName);
  const user = id(facts.user);
  const tables = facts.tables.map((t) => `${id(facts.schema)}.${id(t.table)}`).join(', ');
  const giveTo = `GRANT CREATE ON DATABASE ${id(facts.database)} TO ${user};\nGRANT ${user} TO CURRENT_USER;\nALTER PUBLICATION ${pub} OWNER TO ${user};\nREVOKE CREATE ON DATABASE ${id(facts.database)} FROM ${user};\nREVOKE ${user} FROM CURRENT_USER;`;
  const handOver = `-- as the owner of the tables (see docs/source-prerequisites.md):\nCREATE PUBLICATION ${pub} FOR TABLE ${tables};\n${giveTo}`;
  if (facts.publication.exists) {
    if (facts.publication.allTables) return fail('source.publication', `publication ${options.publicationName} is FOR ALL TABLES (it would capture _prisma_migrations too)`, `DROP PUBLICATION ${pub};  -- then rerun doctor; or choose another --publication-name`);
    // The capture corrects a publication whose table set differs (ALTER PUBLICATION ... SET TABLE), which needs the tables' ownership.
    const wanted = facts.tables.map((t) => `${facts.schema}.${t.table}`).sort();
    const same = facts.publication.tables.length === wanted.length && wanted.every((t, i) => t === [...facts.publication.tables].sort()[i]);
    const canAlter = facts.superuser || (facts.publication.ownedByUser && facts.tables.every((t) => t.ownedByUser));
    if (!same && !canAlter) {
      return fail('source.publication', `publication ${options.publicationName} publishes ${facts.publication.tables.length ? facts.publication.tables.join(', ') : 'no table'}, not the ${SOURCE_TABLES.length} totesys tables, and ${facts.user} cannot change it`, `-- as the owner of the tables:\nALTER PUBLICATION ${pub} SET TABLE ${tables};`);
    }
    if (facts.publication.ownedByUser || facts.superuser) return ok('source.publication', `publication ${options.publicationName} exists, owned by ${facts.publication.owner}${same ? '' : ' (the capture corrects its table set)'}`);
    return fail('source.publication', `publication ${options.publicationName} is owned by ${facts.publication.owner}, not ${facts.user} (the capture records its snapshot marker on it)`, `-- as ${id(facts.publication.owner ?? 'its owner')} or a superuser:\n${giveTo}`);
  }
  if (facts.superuser) return ok('source.publication', `publication ${options.publicationName} does not exist yet; the capture creates it (superuser)`);
  const notOwned = facts.tables.filter((t) => t.exists && !t.ownedByUser);
  if (facts.canCreateInDatabase && notOwned.length === 0) return ok('source.publication', `publication ${options.publicationName} does not exist yet; the capture creates it (it owns the tables)`);
  const reasons = [...(facts.canCreateInDatabase ? [] : [`no CREATE on database ${facts.database}`]), ...(notOwned.length ? [`does not own ${notOwned.map((t) => t.table).join(', ')}`] : [])];
  return fail('source.publication', `publication ${options.publicationName} does not exist and ${facts.user} cannot create it (${reasons.join('; ')})`, handOver);
}
