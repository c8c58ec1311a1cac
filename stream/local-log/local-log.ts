import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { LocalLogConsumer } from './local-log-consumer.js';
import { LocalLogWriter } from './local-log-writer.js';
import { LogLayout } from './log-layout.js';
import { enforceRetention, type RetentionPolicy } from './retention.js';
import { WriterLock } from './writer-lock.js';

export interface LocalLogOptions {
  shards: number;
  /** A shard's segment is rolled once it reaches this size (default 64 MiB). */
  segmentBytes?: number;
  /** Fully consumed segments are deleted after this (default 24 h). */
  retentionMs?: number;
  /** Any segment is deleted after this, consumed or not, with a warning (default 7 days). */
  maxRetentionMs?: number;
  /** How often an open writer applies retention, besides after every roll (default 60 s). */
  retentionCheckIntervalMs?: number;
  /** Poll interval of waiting reads (default 25 ms). */
  pollIntervalMs?: number;
  /** Cap on data bytes per read (default 8 MiB). */
  maxReadBytes?: number;
  logger?: Logger;
}

const LOCAL_LOG_DEFAULTS = {
  segmentBytes: 64 * 1024 * 1024,
  retentionMs: 24 * 60 * 60 * 1000,
  maxRetentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionCheckIntervalMs: 60_000,
  pollIntervalMs: 25,
  maxReadBytes: 8 * 1024 * 1024,
} as const;

/**
 * The embedded durable log: the local stand-in for a Kinesis stream (layout in log-layout.ts, frame
 * format in frame-codec.ts). One writer process at a time; any number of consumers, in any process.
 */
export class LocalLogChangeStream {
  readonly layout: LogLayout;
  private readonly settings: Required<Omit<LocalLogOptions, 'logger'>>;
  private readonly logger: Logger;

  constructor(
    readonly dir: string,
    options: LocalLogOptions,
  ) {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new RangeError(`shards must be a positive integer, got ${options.shards}`);
    this.layout = new LogLayout(dir);
    this.settings = { ...LOCAL_LOG_DEFAULTS, ...stripUndefined(options) } as Required<Omit<LocalLogOptions, 'logger'>>;
    this.logger = (options.logger ?? silentLogger).child({ streamLog: dir });
  }

  get retentionPolicy(): RetentionPolicy {
    return { retentionMs: this.settings.retentionMs, maxRetentionMs: this.settings.maxRetentionMs };
  }

  /**
   * Opens the single writer: takes the writer lock (StreamLockedError if another live process holds
   * it), truncates torn tails, applies retention now, after every segment roll and periodically.
   */
  async writer(): Promise<LocalLogWriter> {
    await this.layout.ensureMeta(this.settings.shards);
    const lock = await WriterLock.acquire(this.layout.lockFile, this.logger);
    let running: Promise<unknown> | undefined;
    const applyRetention = () => {
      running ??= this.enforceRetention()
        .catch((error) => this.logger.warn('stream log retention failed', { error }))
        .finally(() => (running = undefined));
    };
    const timer = setInterval(applyRetention, this.settings.retentionCheckIntervalMs);
    timer.unref();
    let writer: LocalLogWriter;
    try {
      writer = await LocalLogWriter.open(
        this.layout,
        lock,
        {
          shards: this.settings.shards,
          segmentBytes: this.settings.segmentBytes,
          onSegmentRolled: applyRetention,
          onClose: async () => {
            clearInterval(timer);
            await running;
          },
        },
        this.logger,
      );
    } catch (error) {
      clearInterval(timer);
      await lock.release();
      throw error;
    }
    applyRetention();
    return writer;
  }

  async consumer(consumerName: string): Promise<LocalLogConsumer> {
    await this.layout.ensureMeta(this.settings.shards);
    return new LocalLogConsumer(
      this.layout,
      consumerName,
      { shards: this.settings.shards, pollIntervalMs: this.settings.pollIntervalMs, maxReadBytes: this.settings.maxReadBytes },
      this.logger.child({ consumer: consumerName }),
    );
  }

  /** Deletes segments per the retention policy (see retention.ts); returns how many. */
  enforceRetention(nowMs = Date.now()): Promise<number> {
    return enforceRetention(this.layout, this.settings.shards, this.retentionPolicy, nowMs, this.logger);
  }
}

export function openLocalLog(dir: string, options: LocalLogOptions): LocalLogChangeStream {
  return new LocalLogChangeStream(dir, options);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => v !== undefined && k !== 'logger')) as Partial<T>;
}
