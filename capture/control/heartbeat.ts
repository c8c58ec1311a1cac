import { parseLsn, type Lsn } from '../../contracts/lsn.js';
import { isRetryable } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ControlConnection } from './control-connection.js';

/** The prefix of the capture's heartbeat messages in the WAL (pg_logical_emit_message). */
export const HEARTBEAT_PREFIX = 'totesys_cdc_heartbeat';

/**
 * The heartbeat: a non-transactional logical message written to the source's WAL every
 * heartbeatIntervalMs, on the control connection. It gives an idle slot a position to confirm (the
 * session takes such a message, seen outside a transaction, as a milestone), so the slot's lag
 * stays small on a quiet source; `sync` and the bridge also emit one to have a position past their
 * stop LSN. A failed heartbeat is not an error: idle confirms then rely on keepalives alone.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private warned = false;

  constructor(
    private readonly control: ControlConnection,
    private readonly logger: Logger,
  ) {}

  /** Emits one heartbeat now; its WAL position, or null when the source could not be reached. */
  async emit(): Promise<Lsn | null> {
    try {
      const { rows } = await this.control.query<{ lsn: string }>('SELECT pg_logical_emit_message(false, $1, $2)::text AS lsn', [HEARTBEAT_PREFIX, new Date().toISOString()]);
      const lsn = parseLsn(rows[0].lsn);
      // The single place a heartbeat's emission is known: it is in the source's WAL at `lsn`.
      // (Hook for the "watermark" publish: after this point, and only after it succeeded.)
      return lsn;
    } catch (error) {
      if (!isRetryable(error) && !this.warned) {
        this.warned = true;
        this.logger.warn('heartbeat failed; idle confirms rely on keepalives only', { error });
      }
      return null;
    }
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.emit(), intervalMs);
    this.logger.debug('heartbeat started', { intervalMs });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
