import type { Config } from '../platform/config.js';
import { AuthenticationError, errorMessage, isAuthenticationFailure, isRetryable, PipelineError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { formatLsn, parseLsn, type Lsn } from '../contracts/lsn.js';
import type { ChangeStreamWriter } from '../stream/change-stream.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { SlotInUseError } from './capture-errors.js';
import { ControlConnection } from './control/control-connection.js';
import { Heartbeat } from './control/heartbeat.js';
import { CaptureLifecycle } from './lifecycle/capture-lifecycle.js';
import type { EventPublisherOptions } from './publish/event-publisher.js';
import { PgLogicalReplicationStream } from './replication/pg-logical-replication-stream.js';
import { ReplicationSession } from './replication/replication-session.js';
import { CaptureStats } from './reporting/capture-status.js';
import { startStatusReporter } from './reporting/status-reporter.js';
import type { SnapshotProgress } from './snapshot/initial-snapshot.js';
import { prepareSlot } from './snapshot/slot-preparation.js';
import { WatermarkPublisher } from './publish/watermark-publisher.js';
import { shardMapFromConfig, type ShardMap } from './publish/watermark-shard-map.js';
import type { SlotLossReport } from './snapshot/slot-preparation-options.js';
import { IncrementalSnapshots } from './snapshot/incremental-snapshot.js';
import { publicationJobStore } from './control/resnapshot-jobs.js';
import { controlChunkSource } from './snapshot/chunk-source.js';

/**
 * The capture process in one call: set up publication and slot, take the initial snapshot when the
 * slot is new (or an earlier snapshot did not finish), then stream from the slot, reconnecting
 * with exponential backoff (cap reconnectMaxDelayMs) whenever Postgres restarts or the connection
 * drops. This file is the retry loop and the wiring; the phase is the lifecycle's
 * (lifecycle/capture-lifecycle.ts, docs/capture-spec.md).
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
  /** With `stream` (the full config, as `sync` passes it), reconcile records go to every shard of that stream. */
  config: Pick<Readonly<Config>, 'capture'> & Partial<Pick<Readonly<Config>, 'stream'>>;
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
  /** Rows per chunk of `resnapshot --table` (default 1000). */
  resnapshotChunkRows?: number;
  /** The stream's shards: when given, every heartbeat becomes a watermark on each (publish/watermark-publisher.ts). */
  shardMap?: ShardMap;
}

export interface CaptureResult {
  reason: 'signal' | 'stop-lsn-reached';
  eventsPublished: number;
  snapshotRows: number;
  /** Reconcile record copies published (contracts/reconcile.ts): stream records that are not change events. */
  reconcileRecords: number;
  confirmedLsn: string | null;
  snapshotTaken: boolean;
}

export async function runCapture(options: RunCaptureOptions): Promise<CaptureResult> {
  const { slotName, publicationName } = options.config.capture;
  const logger = options.logger.child({ slotName });
  const stats = new CaptureStats(slotName, publicationName);
  const lifecycle = new CaptureLifecycle(({ to, trigger }) => {
    stats.status.phase = to; // L1: the one writer of the reported phase
    if (trigger.type === 'connectionLost') {
      stats.status.reconnects++;
      stats.status.lastError = trigger.error;
    }
    if (trigger.type === 'fail') stats.status.lastError = trigger.error;
  });
  const stopAt = options.stopAtLsn !== undefined ? parseLsn(options.stopAtLsn) : undefined;
  const control = new ControlConnection(options.sourceUrl);
  const heartbeat = new Heartbeat(control, logger);
  const reporter = startStatusReporter(stats, {
    statusFile: options.statusFile,
    metrics: options.metrics,
    statusIntervalMs: options.statusIntervalMs,
    metricsIntervalMs: options.metricsIntervalMs,
    readSlotStatus: () => control.slotStatus(slotName),
    logger,
  });
  heartbeat.start(options.config.capture.heartbeatIntervalMs);
  let snapshotTaken = false;
  let session: ReplicationSession | null = null;
  // L3/T2: a stop request moves the phase to stopping at once, whatever the capture is doing.
  const onAbort = () => {
    lifecycle.stop('signal');
    void session?.stop();
  };
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) lifecycle.stop('signal');

  // Reconcile records (TRUNCATE, snapshot chunks) must reach every shard; watermarks stay opt-in.
  const reconcileShards = options.shardMap ?? (options.config.stream ? shardMapFromConfig({ stream: options.config.stream }) : undefined);
  const onSlotLost = (loss: SlotLossReport) => {
    const lastConfirmedLsn = loss.confirmedFlushLsn ?? stats.status.lastConfirmedLsn;
    stats.status.slotLosses = (stats.status.slotLosses ?? 0) + 1;
    stats.status.slotLost = { reason: loss.reason, detectedAt: new Date().toISOString(), lastConfirmedLsn, recovery: 'resnapshot', recoveredAt: null };
    logger.error(
      loss.reason === 'invalidated'
        ? 'replication slot lost: invalidated by Postgres (wal_status lost, it fell behind max_slot_wal_keep_size); changes after its last confirmed position were never captured'
        : 'replication slot lost: it no longer exists (dropped, or a restore or failover did not carry it) although its snapshot had completed; changes since it went were never captured',
      {
        event: 'slot-lost',
        reason: loss.reason,
        lastConfirmedLsn,
        snapshotLsn: loss.snapshotLsn,
        next: 'creating a new slot and re-reading every table; the warehouse is reconciled: rows changed meanwhile get one new version, rows deleted meanwhile a delete version, unchanged rows nothing',
      },
    );
  };

  let delayMs = 250;
  let busySinceMs: number | null = null;
  let resumeFrom: Lsn = 0n;
  let prepared = false;
  try {
    for (let attempt = 1; !options.signal?.aborted; attempt++) {
      try {
        if (!prepared) {
          lifecycle.prepare();
          const took = await prepareSlot({ ...options, reconcileShards, onSlotLost }, stats, logger, lifecycle, () => heartbeat.emit());
          snapshotTaken = took || snapshotTaken;
          prepared = true;
          if (took && stats.status.slotLost && !stats.status.slotLost.recoveredAt) {
            stats.status.slotLost.recoveredAt = new Date().toISOString();
            logger.info('recovered from the lost replication slot: every table re-read and published with its reconcile records; streaming from the new slot', { event: 'slot-recovered', reason: stats.status.slotLost.reason });
          }
          if (options.signal?.aborted) break;
          if (stopAt !== undefined) await heartbeat.emit(); // a milestone past stopAt, even when idle
        }
        // D2/D5: start from the slot's own confirmed position: the session must have a valid flush
        // LSN to report from its first status message on (the walsender times out silent clients),
        // and it must never report less than what the slot already has.
        const slotConfirmed = await control.slotConfirmedFlush(slotName);
        if (slotConfirmed > resumeFrom) resumeFrom = slotConfirmed;
        session = new ReplicationSession({
          stream: new PgLogicalReplicationStream({ connectionString: options.sourceUrl, slotName, publicationName }),
          writer: options.writer,
          logger,
          stats,
          resumeFrom,
          stopAtLsn: stopAt,
          publisher: options.publisher,
          watermarks: options.shardMap && new WatermarkPublisher({ writer: options.writer, shardMap: options.shardMap, logger }),
          reconcileShards,
          resnapshots: new IncrementalSnapshots({ source: controlChunkSource(control), stats, logger, reconcileShards, chunkRows: options.resnapshotChunkRows, jobs: publicationJobStore(options.sourceUrl, publicationName) }),
          onStarted: () => lifecycle.streamStarted(),
          onStopping: (reason) => lifecycle.stop(reason === 'stop-lsn-reached' ? 'stop-lsn-reached' : 'signal'),
        });
        if (options.signal?.aborted) break;
        const end = await session.run();
        resumeFrom = end.confirmed > resumeFrom ? end.confirmed : resumeFrom;
        if (session.hasStarted) {
          delayMs = 250;
          busySinceMs = null;
        }
        // T3: the session ends at the stop LSN only once it is confirmable.
        if (end.reason === 'stop-lsn-reached') return result('stop-lsn-reached');
        if (end.reason !== 'error') break;
        throw end.error;
      } catch (error) {
        if (options.signal?.aborted) break;
        // K1 while running: an invalidated slot's walsender is terminated, a dropped one fails
        // START_REPLICATION. Either way the next attempt prepares again, which detects, reports
        // and recovers (slot-preparation.ts); this is not an error of the capture.
        if (prepared && (await isSlotUnusable(control, slotName))) {
          prepared = false;
          lifecycle.connectionLost('replication slot lost');
          logger.warn('the replication slot is gone or invalidated; preparing a new one', { event: 'slot-unusable', error: errorMessage(error) });
          await abortableDelay(250, options.signal);
          continue;
        }
        const classified = await classify(error, slotName, control);
        if (classified instanceof SlotInUseError) {
          busySinceMs ??= Date.now();
          if (Date.now() - busySinceMs >= (options.slotBusyTimeoutMs ?? 30_000)) throw classified;
          logger.warn('replication slot is in use by another process, waiting', { activePid: classified.activePid });
          await abortableDelay(Math.min(5_000, options.slotBusyTimeoutMs ?? 30_000), options.signal);
          continue;
        }
        // L6: a permanent error fails the run (once); only retryable ones reconnect.
        if (!isRetryable(classified)) throw classified;
        lifecycle.connectionLost(errorMessage(classified));
        logger.warn('capture connection lost, reconnecting', { attempt, delayMs, error: classified });
        await abortableDelay(delayMs, options.signal);
        delayMs = Math.min(options.reconnectMaxDelayMs ?? 10_000, delayMs * 2);
      }
    }
    return result('signal');
  } catch (error) {
    lifecycle.fail(errorMessage(error));
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    heartbeat.stop();
    // L4: every run ends in stopped (through stopping) or failed, before the final status is written.
    lifecycle.end();
    await reporter.stop();
    await control.close();
  }

  function result(reason: CaptureResult['reason']): CaptureResult {
    return {
      reason,
      eventsPublished: stats.status.eventsPublished,
      snapshotRows: stats.status.snapshotRowsPublished,
      reconcileRecords: stats.status.reconcileRecordsPublished ?? 0,
      confirmedLsn: resumeFrom > 0n ? formatLsn(resumeFrom) : stats.status.lastConfirmedLsn,
      snapshotTaken,
    };
  }
}

/** The slot is missing or invalidated (a failed reading says no: a restarting Postgres is retried as such). */
async function isSlotUnusable(control: ControlConnection, slotName: string): Promise<boolean> {
  try {
    const slot = await control.slotStatus(slotName);
    return !slot.exists || slot.walStatus === 'lost';
  } catch {
    return false;
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
