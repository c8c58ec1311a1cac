import { LogicalReplicationService } from 'pg-logical-replication';
import { formatLsn, type Lsn } from '../../contracts/lsn.js';
import type { PgoutputMessageLike } from './pgoutput-decoder.js';
import type { ReplicationStream, ReplicationStreamHandlers } from './replication-stream.js';
import { TextPgoutputPlugin } from './text-pgoutput-plugin.js';

export interface PgReplicationStreamOptions {
  connectionString: string;
  slotName: string;
  publicationName: string;
}

/**
 * The replication port over pg-logical-replication: the one file that knows the library's
 * configuration quirks and its private connection. pgoutput parsing stays in
 * text-pgoutput-plugin.ts (a plugin of the library) and pgoutput-decoder.ts (pure).
 */
export class PgLogicalReplicationStream implements ReplicationStream {
  private readonly service: LogicalReplicationService;
  private readonly plugin: TextPgoutputPlugin;

  constructor(private readonly o: PgReplicationStreamOptions) {
    this.service = new LogicalReplicationService(
      // Fixed output settings so pgoutput's text values match the snapshot's ::text casts.
      { connectionString: o.connectionString, options: '-c TimeZone=UTC -c DateStyle=ISO,MDY -c extra_float_digits=1', application_name: 'totesys-cdc-capture', connectionTimeoutMillis: 10_000 },
      // The library's own periodic status (acknowledge.timeoutSeconds) would report the last
      // *received* LSN as flushed (breaking D1), so it is off: the session acknowledges itself.
      // Its flowControl (a promise and a socket pause/resume per message batch) is off too: the
      // session pauses through pause()/resume() only when the publisher is full.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [o.publicationName], messages: true });
  }

  async start(from: Lsn, handlers: ReplicationStreamHandlers): Promise<void> {
    this.service.on('data', (lsn: string, message: PgoutputMessageLike) => handlers.onMessage(lsn, message));
    this.service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => handlers.onKeepalive(lsn, shouldRespond));
    this.service.on('error', (error: Error) => handlers.onError(error));
    this.service.on('start', () => handlers.onStarted());
    await this.service.subscribe(this.plugin, this.o.slotName, formatLsn(from));
  }

  acknowledge(flushLsn: Lsn): void {
    // The library reports lsn + 1 as written/flushed/applied: pass flush - 1 so Postgres receives
    // exactly the flush position.
    void this.service.acknowledge(formatLsn(flushLsn - 1n)).catch(() => undefined);
  }

  pause(): void {
    this.socket()?.pause?.();
  }

  resume(): void {
    this.socket()?.resume?.();
  }

  async stop(): Promise<void> {
    await this.service.stop();
  }

  async destroy(): Promise<void> {
    await this.service.destroy();
  }

  /** The replication socket (the one the library's own flowControl pauses); private in the library. */
  private socket(): { pause?: () => void; resume?: () => void } | undefined {
    return (this.service as unknown as { _connection?: { stream?: { pause?: () => void; resume?: () => void } } })._connection?.stream;
  }
}
