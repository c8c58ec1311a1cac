import { describe, expect, it } from 'vitest';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import type { SourceFacts } from '../../ops/doctor/read-facts.js';
import { checkSource } from '../../ops/doctor/source-checks.js';
import { fixtureFactory } from '../support/fixture-factory.js';

const options = { slotName: 'totesys_cdc', publicationName: 'totesys_cdc', replicaIdentityFull: true };

/** Facts of a healthy RDS source with a least-privilege capture user; tests override what they break. */
const rdsFacts = fixtureFactory<SourceFacts>({
  serverVersionNum: 160004,
  database: 'totesys',
  schema: 'public',
  user: 'totesys_cdc_capture',
  superuser: false,
  replicationAttribute: false,
  walLevel: 'logical',
  rds: true,
  rdsLogicalReplication: 'on',
  rdsReplicationMember: true,
  maxReplicationSlots: 20,
  replicationSlotsUsed: 0,
  maxWalSenders: 20,
  walSendersUsed: 0,
  canCreateInDatabase: true,
  canEmitHeartbeat: true,
  heartbeatFunction: 'pg_logical_emit_message(boolean,text,text)',
  slot: { exists: false, plugin: null, database: null, active: false, walStatus: null },
  publication: { exists: true, owner: 'totesys_cdc_capture', ownedByUser: true, allTables: false, tables: SOURCE_TABLES.map((t) => `public.${t}`) },
  tables: SOURCE_TABLES.map((table) => ({ table, exists: true, owner: 'master', ownedByUser: false, canSelect: true, replicaIdentity: 'f', hasPrimaryKey: true })),
});

const find = (facts: SourceFacts, id: string) => checkSource(facts, options).find((c) => c.id === id);

describe('source checks on RDS', () => {
  it('a healthy least-privilege RDS source passes every check', () => {
    expect(checkSource(rdsFacts(), options).filter((c) => c.status !== 'ok')).toEqual([]);
  });

  it('rds.logical_replication off: the parameter-group change and reboot, not ALTER SYSTEM', () => {
    const check = find(rdsFacts({ rdsLogicalReplication: 'off', walLevel: 'replica' }), 'source.rds_logical_replication');
    expect(check?.status).toBe('fail');
    expect(check?.fix).toContain('aws rds modify-db-parameter-group --db-parameter-group-name <your-parameter-group> --parameters "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot"');
    expect(check?.fix).toContain('aws rds reboot-db-instance');
    expect(check?.fix).not.toContain('ALTER SYSTEM');
  });

  it('no rds_replication: GRANT rds_replication', () => {
    const check = find(rdsFacts({ rdsReplicationMember: false }), 'source.replication_role');
    expect(check).toMatchObject({ status: 'fail', fix: '-- as the RDS master user:\nGRANT rds_replication TO "totesys_cdc_capture";' });
  });

  it('slots: no room at all fails, room for the slot but not its bridge warns, an existing slot needs one spare', () => {
    expect(find(rdsFacts({ maxReplicationSlots: 3, replicationSlotsUsed: 3 }), 'source.replication_slots')?.status).toBe('fail');
    expect(find(rdsFacts({ maxReplicationSlots: 3, replicationSlotsUsed: 2 }), 'source.replication_slots')?.status).toBe('warn');
    const existing = { exists: true, plugin: 'pgoutput', database: 'totesys', active: true, walStatus: 'reserved' };
    expect(find(rdsFacts({ maxReplicationSlots: 3, replicationSlotsUsed: 2, slot: existing }), 'source.replication_slots')?.status).toBe('ok');
    expect(find(rdsFacts({ maxReplicationSlots: 3, replicationSlotsUsed: 2, slot: existing }), 'source.slot')?.status).toBe('ok');
    expect(find(rdsFacts({ slot: { ...existing, walStatus: 'lost' } }), 'source.slot')).toMatchObject({ status: 'fail', fix: expect.stringContaining('re-reads every table') });
  });

  it('WAL senders: all taken fails unless the capture itself holds one', () => {
    expect(find(rdsFacts({ maxWalSenders: 2, walSendersUsed: 2 }), 'source.wal_senders')).toMatchObject({ status: 'fail', fix: expect.stringContaining('ParameterName=max_wal_senders,ParameterValue=10') });
    const streaming = { exists: true, plugin: 'pgoutput', database: 'totesys', active: true, walStatus: 'reserved' };
    expect(find(rdsFacts({ maxWalSenders: 2, walSendersUsed: 2, slot: streaming }), 'source.wal_senders')?.status).toBe('ok');
  });

  it('a publication owned by someone else fails with the hand-over SQL; FOR ALL TABLES fails', () => {
    expect(find(rdsFacts({ publication: { ...rdsFacts().publication, owner: 'master', ownedByUser: false } }), 'source.publication')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('ALTER PUBLICATION "totesys_cdc" OWNER TO "totesys_cdc_capture";'),
    });
    expect(find(rdsFacts({ publication: { ...rdsFacts().publication, allTables: true } }), 'source.publication')?.status).toBe('fail');
  });

  it('a publication with another table set fails unless the capture may change it', () => {
    const partial = { ...rdsFacts().publication, tables: ['public.address'] };
    expect(find(rdsFacts({ publication: partial }), 'source.publication')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/^-- as the owner of the tables:\nALTER PUBLICATION "totesys_cdc" SET TABLE "public"."address", /) });
    const owned = rdsFacts().tables.map((t) => ({ ...t, ownedByUser: true }));
    expect(find(rdsFacts({ publication: partial, tables: owned }), 'source.publication')).toMatchObject({ status: 'ok', summary: expect.stringContaining('corrects its table set') });
  });

  it('no EXECUTE on pg_logical_emit_message is a warning with the GRANT', () => {
    expect(find(rdsFacts({ canEmitHeartbeat: false }), 'source.heartbeat')).toMatchObject({ status: 'warn', fix: 'GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean,text,text) TO "totesys_cdc_capture";' });
  });

  it('replica identity not FULL on tables the capture does not own: the owner must ALTER them', () => {
    const tables = rdsFacts().tables.map((t) => (t.table === 'staff' ? { ...t, replicaIdentity: 'd' as const } : t));
    expect(find(rdsFacts({ tables }), 'source.replica_identity')).toMatchObject({ status: 'fail', fix: '-- as the owner of the tables:\nALTER TABLE "public"."staff" REPLICA IDENTITY FULL;' });
    const owned = tables.map((t) => ({ ...t, ownedByUser: true }));
    expect(find(rdsFacts({ tables: owned }), 'source.replica_identity')?.status).toBe('ok');
  });
});

describe('docs/source-prerequisites.md', () => {
  it('shows exactly the capture-user SQL that doctor prints', async () => {
    const { readFile } = await import('node:fs/promises');
    const { captureUserSql } = await import('../../ops/doctor/capture-user-sql.js');
    const doc = await readFile(new URL('../../docs/source-prerequisites.md', import.meta.url), 'utf8');
    expect(doc).toContain('```sql\n' + captureUserSql({ platform: 'postgres' }) + '\n```');
    expect(doc).toContain('```sql\n' + captureUserSql({ platform: 'rds' }) + '\n```');
  });
});
