import pg from 'pg';
import { bridgeSlotName, readSnapshotMarker, type SnapshotMarker } from './replication-setup.js';
import { createPostgresClient } from '../../platform/postgres-client.js';

/**
 * Slot health from SQL alone, so `status` can report it without a running capture.
 * lagBytes = pg_current_wal_lsn() - confirmed_flush_lsn: WAL the source keeps for this slot.
 * walStatus/safeWalSizeBytes come from pg_replication_slots (`lost` means the slot is unusable).
 */
export interface SlotStatus {
  slotName: string;
  exists: boolean;
  active: boolean;
  activePid: number | null;
  plugin: string | null;
  confirmedFlushLsn: string | null;
  restartLsn: string | null;
  currentWalLsn: string;
  lagBytes: number | null;
  walStatus: string | null;
  safeWalSizeBytes: number | null;
  /** From the publication's marker; 'absent' when there is no publication or marker. */
  snapshot?: SnapshotMarker['state'];
  /** The bridge slot of a snapshot being redone (slot-preparation.ts), while it exists: it keeps WAL too. */
  bridge?: { slotName: string; active: boolean; lagBytes: number | null };
  /**
   * A slot the capture had (the marker says its snapshot completed) that is now unusable:
   * `invalidated` (wal_status lost, past max_slot_wal_keep_size) or `missing` (dropped, or a
   * restore or failover that did not carry it). null: not lost. Only read when the publication is known.
   */
  lost?: SlotLoss | null;
}

export type SlotLoss = 'invalidated' | 'missing';

/**
 * Whether the capture's slot is lost. "We had one" is what the publication's snapshot marker
 * persists in the source itself (replication-setup.ts): it says `complete` for this slot only once
 * the slot's snapshot was published, and it survives restarts, container replacement, and a
 * restore or failover (a catalog comment is in every backup; a logical slot is not).
 */
export function slotLossOf(slot: { exists: boolean; walStatus: string | null }, marker: SnapshotMarker, slotName: string): SlotLoss | null {
  if (slot.exists) return slot.walStatus === 'lost' ? 'invalidated' : null;
  return marker.state === 'complete' && marker.slotName === slotName ? 'missing' : null;
}

type Queryable = Pick<pg.Client, 'query' | 'escapeIdentifier'>;

export async function querySlotStatus(client: Queryable, slotName: string): Promise<SlotStatus> {
  const { rows } = await client.query(
    `SELECT pg_current_wal_lsn()::text AS current_lsn, s.slot_name, s.active, s.active_pid, s.plugin,
            s.confirmed_flush_lsn::text AS confirmed, s.restart_lsn::text AS restart,
            (pg_current_wal_lsn() - s.confirmed_flush_lsn)::float8 AS lag_bytes,
            s.wal_status, s.safe_wal_size::float8 AS safe_wal_size
       FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
    [slotName],
  );
  const r = rows[0];
  return {
    slotName,
    exists: r.slot_name !== null,
    active: r.active ?? false,
    activePid: r.active_pid ?? null,
    plugin: r.plugin ?? null,
    confirmedFlushLsn: r.confirmed ?? null,
    restartLsn: r.restart ?? null,
    currentWalLsn: r.current_lsn,
    lagBytes: r.lag_bytes === null ? null : Math.max(0, Number(r.lag_bytes)),
    walStatus: r.wal_status ?? null,
    safeWalSizeBytes: r.safe_wal_size === null ? null : Number(r.safe_wal_size),
  };
}

export async function readSlotStatus(url: string, slotName: string, publicationName?: string): Promise<SlotStatus> {
  const client = createPostgresClient({ url, applicationName: 'totesys-cdc-slot-status' });
  await client.connect();
  try {
    const status = await querySlotStatus(client, slotName);
    if (publicationName) {
      const marker = await readSnapshotMarker(client, publicationName);
      status.snapshot = marker.state;
      status.lost = slotLossOf(status, marker, slotName);
    }
    const bridge = await querySlotStatus(client, bridgeSlotName(slotName));
    if (bridge.exists) status.bridge = { slotName: bridge.slotName, active: bridge.active, lagBytes: bridge.lagBytes };
    return status;
  } finally {
    await client.end();
  }
}
