import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { PublicationSetupError, SlotInUseError } from '../capture-errors.js';
import { createPostgresClient } from '../../platform/postgres-client.js';
import { editPublicationComment, readPublicationComment } from './publication-comment.js';

/**
 * Slot and publication management. The capture owns exactly two objects in the source database: the
 * publication and the logical slot. Nothing else in the source is written except, when asked,
 * `REPLICA IDENTITY FULL` on the 11 captured tables (so updates and deletes carry the whole old row
 * and unchanged TOASTed values never need placeholders).
 *
 * The snapshot marker lives in the publication's COMMENT (see snapshot-marker below), as its first
 * line; the later lines hold the `resnapshot --table` jobs (publication-comment.ts): it survives
 * restarts and container replacement (Fargate has no durable disk), needs no extra table in the
 * source, and disappears with the publication on teardown.
 */
export interface CaptureNames {
  slotName: string;
  publicationName: string;
}

type Queryable = Pick<pg.Client, 'query' | 'escapeIdentifier'>;

/** Creates the publication FOR TABLE the 11 source tables, or corrects its table set. */
export async function ensurePublication(client: Queryable, publicationName: string): Promise<'created' | 'altered' | 'unchanged'> {
  const tables = SOURCE_TABLES.map((t) => client.escapeIdentifier(t)).join(', ');
  const pub = client.escapeIdentifier(publicationName);
  const existing = await client.query<{ puballtables: boolean }>('SELECT puballtables FROM pg_publication WHERE pubname = $1', [publicationName]);
  if (existing.rowCount === 0) {
    await client.query(`CREATE PUBLICATION ${pub} FOR TABLE ${tables}`);
    return 'created';
  }
  if (existing.rows[0].puballtables) {
    throw new PublicationSetupError(
      `publication "${publicationName}" is FOR ALL TABLES (it would capture _prisma_migrations too); drop it or choose another --publication-name`,
      publicationName,
    );
  }
  const { rows } = await client.query<{ tablename: string }>(
    'SELECT tablename FROM pg_publication_tables WHERE pubname = $1 AND schemaname = current_schema()',
    [publicationName],
  );
  const { rows: all } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_publication_tables WHERE pubname = $1', [publicationName]);
  const have = new Set(rows.map((r) => r.tablename));
  const same = have.size === SOURCE_TABLES.length && all[0].n === SOURCE_TABLES.length && SOURCE_TABLES.every((t) => have.has(t));
  if (same) return 'unchanged';
  await client.query(`ALTER PUBLICATION ${pub} SET TABLE ${tables}`);
  return 'altered';
}

/** Sets REPLICA IDENTITY FULL where it is not already set (ALTER TABLE takes a short lock). */
export async function ensureReplicaIdentityFull(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ relname: string; relreplident: string }>(
    `SELECT c.relname, c.relreplident FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY($1)`,
    [SOURCE_TABLES as readonly string[]],
  );
  const changed: string[] = [];
  for (const row of rows) {
    if (row.relreplident === 'f') continue;
    await client.query(`ALTER TABLE ${client.escapeIdentifier(row.relname)} REPLICA IDENTITY FULL`);
    changed.push(row.relname);
  }
  return changed;
}

/** Checks that the 11 tables exist, so a wrong --source-url fails with a clear message. */
export async function assertSourceTables(client: Queryable): Promise<void> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p') AND relname = ANY($1)`,
    [SOURCE_TABLES as readonly string[]],
  );
  const have = new Set(rows.map((r) => r.relname));
  const missing = SOURCE_TABLES.filter((t) => !have.has(t));
  if (missing.length) {
    throw new PublicationSetupError(`the source database lacks the totesys tables ${missing.join(', ')} (wrong --source-url?)`, '');
  }
}

// ---- snapshot marker ----------------------------------------------------------------------------

export type SnapshotMarker = { state: 'pending'; slotName: string } | { state: 'complete'; slotName: string; snapshotLsn: string } | { state: 'absent' };

const MARKER = /^totesys-cdc snapshot (pending|complete) slot=([a-z_][a-z0-9_]*)(?: lsn=([0-9A-F]+\/[0-9A-F]+))?$/;

export async function readSnapshotMarker(client: Queryable, publicationName: string): Promise<SnapshotMarker> {
  // The marker is the comment's first line; later lines are resnapshot jobs (publication-comment.ts).
  const match = MARKER.exec((await readPublicationComment(client, publicationName))?.marker ?? '');
  if (!match) return { state: 'absent' };
  return match[1] === 'complete' && match[3] ? { state: 'complete', slotName: match[2], snapshotLsn: match[3] } : { state: 'pending', slotName: match[2] };
}

/**
 * Order of a (re)snapshot: mark pending → create slot → read and publish the snapshot → mark
 * complete. A crash anywhere before the last step leaves "pending", and the next start snapshots
 * again, bridging the gap between the two snapshots (see slot-preparation.ts). Only the marker line
 * is replaced: the resnapshot jobs in the comment's later lines are kept.
 */
export async function writeSnapshotMarker(client: Queryable, publicationName: string, marker: Exclude<SnapshotMarker, { state: 'absent' }>): Promise<void> {
  const text = marker.state === 'complete' ? `totesys-cdc snapshot complete slot=${marker.slotName} lsn=${marker.snapshotLsn}` : `totesys-cdc snapshot pending slot=${marker.slotName}`;
  await editPublicationComment(client, publicationName, (lines) => ({ ...lines, marker: text }));
}

// ---- slot ---------------------------------------------------------------------------------------

export interface SlotRow {
  slotName: string;
  plugin: string | null;
  database: string | null;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: string | null;
  /** pg_replication_slots.wal_status: `lost` = invalidated (past max_slot_wal_keep_size), unusable. */
  walStatus: string | null;
}

export async function readSlot(client: Queryable, slotName: string): Promise<SlotRow | null> {
  const { rows } = await client.query(
    `SELECT slot_name, plugin, database, active, active_pid, confirmed_flush_lsn::text AS confirmed, wal_status
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slotName],
  );
  if (!rows.length) return null;
  const r = rows[0];
  return { slotName: r.slot_name, plugin: r.plugin, database: r.database, active: r.active, activePid: r.active_pid, confirmedFlushLsn: r.confirmed, walStatus: r.wal_status ?? null };
}

/**
 * The slot that keeps the changes made after an abandoned snapshot until the next snapshot has
 * been taken (slot-preparation.ts). Slot names are at most 63 characters.
 */
export function bridgeSlotName(slotName: string): string {
  return `${slotName.slice(0, 63 - '_bridge'.length)}_bridge`;
}

/** A new slot at the same position as `from` (same restart and confirmed LSN, same plugin). */
export async function copySlot(client: Queryable, from: string, to: string): Promise<void> {
  await client.query('SELECT pg_copy_logical_replication_slot($1, $2)', [from, to]);
}

/**
 * Drops the slot if it exists. An active slot is waited for up to `releaseWaitMs` (a walsender
 * whose client just disconnected lets go of its slot a moment later), then SlotInUseError.
 */
export async function dropSlot(client: Queryable, slotName: string, releaseWaitMs = 0): Promise<boolean> {
  const deadline = Date.now() + releaseWaitMs;
  let slot = await readSlot(client, slotName);
  while (slot?.active && Date.now() < deadline) {
    await sleep(50);
    slot = await readSlot(client, slotName);
  }
  if (!slot) return false;
  if (slot.active) throw new SlotInUseError(slotName, slot.activePid);
  await client.query('SELECT pg_drop_replication_slot($1)', [slotName]);
  return true;
}

export interface ExportedSnapshotSlot {
  consistentPoint: string;
  snapshotName: string;
  /** The replication connection: the exported snapshot lives only while it stays open and idle. */
  release(): Promise<void>;
}

/** CREATE_REPLICATION_SLOT ... LOGICAL pgoutput (SNAPSHOT 'export') on a replication connection. */
export async function createSlotWithExportedSnapshot(connectionString: string, slotName: string): Promise<ExportedSnapshotSlot> {
  const client = createPostgresClient({ url: connectionString, applicationName: 'totesys-cdc-capture-setup', replication: 'database', connectionTimeoutMs: 10_000 });
  client.on('error', () => undefined); // surfaced by the next query; the snapshot reader notices
  await client.connect();
  try {
    const { rows } = await client.query(`CREATE_REPLICATION_SLOT ${client.escapeIdentifier(slotName)} LOGICAL pgoutput (SNAPSHOT 'export')`);
    return {
      consistentPoint: rows[0].consistent_point,
      snapshotName: rows[0].snapshot_name,
      release: () => client.end().catch(() => undefined),
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

export interface DroppedCaptureObjects {
  slotDropped: boolean;
  publicationDropped: boolean;
}

/** For `teardown`: drops the slot (and its bridge slot, if any) and the publication. Refuses (SlotInUseError) while a slot is active. */
export async function dropCaptureObjects(url: string, names: CaptureNames): Promise<DroppedCaptureObjects> {
  const client = createPostgresClient({ url, applicationName: 'totesys-cdc-capture-setup' });
  await client.connect();
  try {
    const slotDropped = await dropSlot(client, names.slotName);
    await dropSlot(client, bridgeSlotName(names.slotName));
    const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publicationName]);
    if (rowCount) await client.query(`DROP PUBLICATION ${client.escapeIdentifier(names.publicationName)}`);
    return { slotDropped, publicationDropped: Boolean(rowCount) };
  } finally {
    await client.end();
  }
}
