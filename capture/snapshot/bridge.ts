import { formatLsn, type Lsn } from '../../contracts/lsn.js';
import type { Logger } from '../../platform/logger.js';
import { PgLogicalReplicationStream } from '../replication/pg-logical-replication-stream.js';
import { ReplicationSession } from '../replication/replication-session.js';
import type { CaptureStats } from '../reporting/capture-status.js';
import type { SlotPreparationOptions } from './slot-preparation-options.js';

/**
 * Publishes the bridge slot's transactions that committed before `snapshotLsn` (the new slot's
 * start), in WAL order, ahead of the new snapshot's events (slot-preparation.ts says why).
 * S3: the session publishes nothing committed at or after snapshotLsn and never confirms past it,
 * so a crash during the bridge redoes it from where it had confirmed. The bridge is part of the
 * snapshot phase: its session does not move the lifecycle to streaming.
 */
export async function streamBridge(
  options: Pick<SlotPreparationOptions, 'sourceUrl' | 'config' | 'writer' | 'signal' | 'publisher'>,
  stats: CaptureStats,
  logger: Logger,
  bridgeName: string,
  resumeFrom: Lsn,
  snapshotLsn: Lsn,
  heartbeat: () => Promise<unknown>,
): Promise<void> {
  logger.info('bridging the changes between the abandoned and the new snapshot', { bridgeSlot: bridgeName, from: formatLsn(resumeFrom), to: formatLsn(snapshotLsn) });
  const session = new ReplicationSession({
    stream: new PgLogicalReplicationStream({ connectionString: options.sourceUrl, slotName: bridgeName, publicationName: options.config.capture.publicationName }),
    writer: options.writer,
    logger: logger.child({ bridgeSlot: bridgeName }),
    stats,
    resumeFrom,
    stopAtLsn: snapshotLsn,
    skipFromLsn: snapshotLsn,
    publisher: options.publisher,
  });
  const onAbort = () => void session.stop();
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) onAbort();
  try {
    // A position past the new slot's start, so an idle source still gives the bridge its end.
    await heartbeat();
    const end = await session.run();
    if (end.reason === 'error') throw end.error;
    if (end.reason !== 'stop-lsn-reached') throw new Error('initial snapshot interrupted by a stop request');
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
