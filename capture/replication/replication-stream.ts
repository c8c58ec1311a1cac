import type { Lsn } from '../../contracts/lsn.js';
import type { PgoutputMessageLike } from './pgoutput-decoder.js';

/**
 * The replication port: what the capture needs from one logical replication connection to its
 * slot. ReplicationSession (the confirm and backpressure logic) depends on this slice only; the
 * one adapter, pg-logical-replication-stream.ts, is the only code that knows the library.
 *
 * Positions are flush positions in Postgres' `confirmed_flush_lsn` sense: `acknowledge(F)` tells
 * the server that everything before F is handled. The adapter sends exactly F (no off-by-one).
 */
export interface ReplicationStreamHandlers {
  /** START_REPLICATION succeeded: the server streams from here on. */
  onStarted(): void;
  /** One pgoutput message (XLogData), in WAL order, with the WAL position it starts at. */
  onMessage(lsn: string, message: PgoutputMessageLike): void;
  /** A primary keepalive: the server's WAL end; `shouldRespond` asks for a status reply now. */
  onKeepalive(walEnd: string, shouldRespond: boolean): void;
  /** The connection failed (also after start). */
  onError(error: unknown): void;
}

export interface ReplicationStream {
  /**
   * Streams the slot until stop() or an error; resolves when the stream ends (after stop(), or
   * when the server ended it), rejects when it could not start. `from` 0n starts at the slot's
   * confirmed_flush_lsn, the only start the capture uses (invariant D5).
   */
  start(from: Lsn, handlers: ReplicationStreamHandlers): Promise<void>;
  /** Standby status update with flush position `flushLsn` (also the reply to a keepalive). */
  acknowledge(flushLsn: Lsn): void;
  /** Stops reading the socket (the walsender blocks once the buffers fill) / reads on. */
  pause(): void;
  resume(): void;
  /** Ends the stream gracefully (start() then resolves). */
  stop(): Promise<void>;
  /** Releases the connection and every listener; the stream cannot be used again. */
  destroy(): Promise<void>;
}
