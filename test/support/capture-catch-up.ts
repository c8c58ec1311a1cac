import { readSlotStatus } from '../../capture/control/slot-status.js';
import { parseLsn } from '../../contracts/lsn.js';
import { withClient } from './postgres.js';
import { waitFor } from './wait-for.js';

/**
 * Waits until capture has confirmed every commit made before this call: the slot's snapshot is
 * complete (a slot made by a redone snapshot starts at its creation point, so a confirmed LSN alone
 * says nothing until then) and its confirmed_flush_lsn has reached the current insert position
 * (with synchronous_commit = off the write position can trail the last commits). Errors while
 * polling (Postgres restarting) count as "not yet".
 */
export async function waitForCaptureToCatchUp(
  url: string,
  slot: { slotName: string; publicationName: string },
  options: { what?: string; timeoutMs?: number; intervalMs?: number; onPoll?: () => void } = {},
): Promise<void> {
  const { lsn } = await withClient(url, async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]);
  await waitFor(
    async () => {
      options.onPoll?.();
      const s = await readSlotStatus(url, slot.slotName, slot.publicationName).catch(() => null);
      return s?.snapshot === 'complete' && s.confirmedFlushLsn !== null && parseLsn(s.confirmedFlushLsn) >= parseLsn(lsn);
    },
    { what: options.what ?? 'capture to catch up', timeoutMs: options.timeoutMs ?? 30_000, intervalMs: options.intervalMs },
  );
}
