import pg from 'pg';
import type { Config } from '../platform/config.js';
import { AuthenticationError, errorMessage, isAuthenticationFailure, isRetryable, PipelineError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { formatLsn, parseLsn, type Lsn } from '../contracts/lsn.js';
import { redactUrl } from '../platform/redact.js';
import type { ChangeStreamWriter } from '../stream/change-stream.js';
import { SlotInUseError } from './capture-errors.js';
import { CaptureStats, emfLine, writeStatusFile, type CaptureStatus } from './capture-status.js';
import type { EventPublisherOptions } from './event-publisher.js';
import type { SnapshotProgress } from './initial-snapshot.js';
import { prepareSlot } from './slot-preparation.js';
import { HEARTBEAT_PREFIX, ReplicationSession } from './replication-session.js';
import { querySlotStatus } from './slot-status.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { WatermarkPublisher } from './watermark-publisher.js';
import type { ShardMap } from './watermark-shard-map.js';

/**
 * The capture process in one call: set up publication and slot, take the initial snapshot when the
 * slot is new (or an earlier snapshot did not finish), then stream from the slot, reconnecting
 * with exponential backoff (cap reconnectMaxDelayMs) whenever Postgres restarts or the connection
 * drops.
 *
 * Failure policy:
 * - wrong credentials (28P01/28000): AuthenticationError at once, never retried;
 * - slot active in another process (55006): retried every few seconds for slotBusyTimeoutMs (a
 *   rolling deploy's old task lets go within seconds), then SlotInUseError;
 * - other permanent errors (PipelineError.retryable false, unknown SQL errors): thrown at once;
 * - connection loss, Postgres restarting, stream throttling: retried forever with backoff.
 */
export interface RunCaptureOptions {
  sourceUrl: string;
  config: Pick<Readonly<Config>, 'capture'>;
  writer: ChangeStreamWriter;
  logger: Logger;
  signal?: AbortSignal;
  onSnapshotProgress?: (progress: SnapshotProgress) => void;
  /** Live status JSON, rewritten atomically every statusIntervalMs (e.g. `<stateDir>/capture-status.json`). */
  statusFile?: string;
  /** Return once every change committed before this LSN is published and confirmed (`sync`). */
  stopAtLsn?: string;
  /** 'emf': print CloudWatch embedded-metric-format lines to stdout (AWS). */
  metrics?: 'none' | 'emf';
  statusIntervalMs?: number;
  metricsIntervalMs?: number;
  slotBusyTimeoutMs?: number;
  reconnectMaxDelayMs?: number;
  /** Batching/backpressure tuning (tests, bench). */
  publisher?: Partial<EventPublisherOptions>;
  snapshotBatchRows?: number;
  /** The stream's shards: when given, every heartbeat becomes a watermark on each (watermark-publisher.ts). */
  shardMap?: ShardMap;
}

export interface CaptureResult {
  reason: 'signal' | 'stop-lsn-reached';
  eventsPublished: number;
  snapshotRows: number;
  confirmedLsn: string | null;
  snapshotTaken: boolean;
}

export async function runCapture(options: RunCaptureOptions): Promise<CaptureResult> {
  const { slotName, publicationName } = options.config.capture;
  const logger = options.logger.child({ slotName });
  const stats = new CaptureStats(slotName, publicationName);
  const stopAt = options.stopAtLsn !== undefined ? parseLsn(options.stopAtLsn) : undefined;
  const control = new ControlConnection(options.sourceUrl, logger);
  const reporter = startReporter(options, stats, control, logger);
  const heartbeat = startHeartbeat(options, control, logger);
  let snapshotTaken = false;
  let session: ReplicationSession | null = null;
  const onAbort = () => void session?.stop();
  options.signal?.addEventListener('abort', onAbort);

  let delayMs = 250;
  let busySinceMs: number | null = null;
  let resumeFrom: Lsn = 0n;
  let prepared = false;
  try {
    for (let attempt = 1; !options.signal?.aborted; attempt++) {
      try {
        if (!prepared) {
          stats.status.phase = 'starting';
          snapshotTaken = (await prepareSlot(options, stats, logger, () => control.heartbeat())) || snapshotTaken;
          prepared = true;
          if (options.signal?.aborted) break;
          if (stopAt !== undefined) await control.heartbeat(); // a milestone past stopAt, even when idle
        }
        // Start from the slot's own confirmed position: the session must have a valid flush LSN to
        // report from its first status message on (the walsender times out silent clients), and it
        // must never report less than what the slot already has.
        const slotConfirmed = await control.slotConfirmedFlush(slotName);
        if (slotConfirmed > resumeFrom) resumeFrom = slotConfirmed;
        session = new ReplicationSession({
          connectionString: options.sourceUrl,
          slotName,
          publicationName,
          writer: options.writer,
          logger,
          stats,
          resumeFrom,
          stopAtLsn: stopAt,
          publisher: options.publisher,
          watermarks: options.shardMap && new WatermarkPublisher({ writer: options.writer, shardMap: options.shardMap, logger }),
        });
        if (options.signal?.aborted) break;
        const end = await session.run();
        resumeFrom = end.confirmed > resumeFrom ? end.confirmed : resumeFrom;
        if (session.hasStarted) {
          delayMs = 250;
          busySinceMs = null;
        }
        if (end.reason === 'stop-lsn-reached') return result('stop-lsn-reached');
        if (end.reason !== 'error') break;
        throw end.error;
      } catch (error) {
        if (options.signal?.aborted) break;
        const classified = await classify(error, slotName, control);
        if (classified instanceof SlotInUseError) {
          busySinceMs ??= Date.now();
          if (Date.now() - busySinceMs >= (options.slotBusyTimeoutMs ?? 30_000)) throw classified;
          logger.warn('replication slot is in use by another process, waiting', { activePid: classified.activePid });
          await abortableDelay(Math.min(5_000, options.slotBusyTimeoutMs ?? 30_000), options.signal);
          continue;
        }
        if (!isRetryable(classified)) throw classified;
        stats.status.phase = 'reconnecting';
        stats.status.reconnects++;
        stats.status.lastError = errorMessage(classified);
        logger.warn('capture connection lost, reconnecting', { attempt, delayMs, error: classified });
        await abortableDelay(delayMs, options.signal);
        delayMs = Math.min(options.reconnectMaxDelayMs ?? 10_000, delayMs * 2);
      }
    }
    return result('signal');
  } catch (error) {
    stats.status.phase = 'failed';
    stats.status.lastError = errorMessage(error);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    heartbeat.stop();
    if (stats.status.phase !== 'failed') stats.status.phase = 'stopped';
    await reporter.stop();
    await control.close();
  }

  function result(reason: CaptureResult['reason']): CaptureResult {
    return {
      reason,
      eventsPublished: stats.status.eventsPublished,
      snapshotRows: stats.status.snapshotRowsPublished,
      confirmedLsn: resumeFrom > 0n ? formatLsn(resumeFrom) : stats.status.lastConfirmedLsn,
      snapshotTaken,
    };
  }
}

async function classify(error: unknown, slotName: string, control: ControlConnection): Promise<unknown> {
  if (error instanceof PipelineError) return error;
  if (isAuthenticationFailure(error)) {
    return new AuthenticationError(`authentication to the source database failed: ${errorMessage(error)} (check the user and password in --source-url)`, { cause: error });
  }
  const code = (error as { code?: string })?.code;
  if (code === '55006') {
    const pid = await control.slotActivePid(slotName).catch(() => null);
    return new SlotInUseError(slotName, pid, { cause: error });
  }
  return error;
}

/** A plain connection for heartbeats and slot status; reconnects lazily after failures. */
class ControlConnection {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private warnedHeartbeat = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  private get(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, application_name: 'totesys-cdc-capture-control', connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
      client.on('error', () => {
        if (this.client === client) this.client = null;
      });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = null;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  private async run<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.get();
    try {
      return await fn(client);
    } catch (error) {
      if (this.client === client) this.client = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** Non-transactional logical message: gives an idle slot a position to confirm. */
  async heartbeat(): Promise<void> {
    try {
      await this.run((c) => c.query('SELECT pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, new Date().toISOString()]));
    } catch (error) {
      if (isRetryable(error) || this.warnedHeartbeat) return;
      this.warnedHeartbeat = true;
      this.logger.warn('heartbeat failed; idle confirms rely on keepalives only', { error });
    }
  }

  slotStatus(slotName: string) {
    return this.run((c) => querySlotStatus(c, slotName));
  }

  async slotConfirmedFlush(slotName: string): Promise<Lsn> {
    const { rows } = await this.run((c) => c.query('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slotName]));
    return rows[0]?.lsn ? parseLsn(rows[0].lsn) : 0n;
  }

  async slotActivePid(slotName: string): Promise<number | null> {
    const { rows } = await this.run((c) => c.query('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slotName]));
    return rows[0]?.active_pid ?? null;
  }

  async close(): Promise<void> {
    const client = this.client ?? (await this.connecting?.catch(() => null));
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

function startHeartbeat(options: RunCaptureOptions, control: ControlConnection, logger: Logger) {
  const timer = setInterval(() => void control.heartbeat(), options.config.capture.heartbeatIntervalMs);
  logger.debug('heartbeat started', { intervalMs: options.config.capture.heartbeatIntervalMs, source: redactUrl(options.sourceUrl) });
  return { stop: () => clearInterval(timer) };
}

function startReporter(options: RunCaptureOptions, stats: CaptureStats, control: ControlConnection, logger: Logger) {
  const statusIntervalMs = options.statusIntervalMs ?? 2_000;
  const metricsIntervalMs = options.metricsIntervalMs ?? 10_000;
  let lastMetricsMs = Date.now();
  let eventsAtLastMetrics = 0;
  let writing: Promise<void> = Promise.resolve();
  const write = async (final: boolean) => {
    // Status first, slot reading after: a source outage (connect timeout) must not leave the status
    // file stale, since health checks judge liveness by its freshness.
    const status: CaptureStatus = stats.tick();
    if (options.statusFile) await writeStatusFile(options.statusFile, status).catch((error) => logger.warn('status file write failed', { error }));
    if (options.metrics === 'emf' && (final || Date.now() - lastMetricsMs >= metricsIntervalMs)) {
      process.stdout.write(emfLine(status, status.eventsPublished - eventsAtLastMetrics) + '\n');
      lastMetricsMs = Date.now();
      eventsAtLastMetrics = status.eventsPublished;
    }
    if (!final) {
      try {
        stats.slot(await control.slotStatus(options.config.capture.slotName));
      } catch {
        // Postgres restarting: keep the last reading.
      }
    }
  };
  const active = Boolean(options.statusFile) || options.metrics === 'emf';
  const timer = active ? setInterval(() => (writing = writing.then(() => write(false))), statusIntervalMs) : null;
  return {
    async stop() {
      if (timer) clearInterval(timer);
      await writing;
      if (active) await write(true);
    },
  };
}

