import pg from 'pg';
import { bridgeSlotName, readSnapshotMarker, type SnapshotMarker } from './replication-setup.js';

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
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const status = await querySlotStatus(client, slotName);
    if (publicationName) status.snapshot = (await readSnapshotMarker(client, publicationName)).state;
    const bridge = await querySlotStatus(client, bridgeSlotName(slotName));
    if (bridge.exists) status.bridge = { slotName: bridge.slotName, active: bridge.active, lagBytes: bridge.lagBytes };
    return status;
  } finally {
    await client.end();
  }
}
