import type { Worker } from 'node:worker_threads';
import type { Logger } from '../../platform/logger.js';
import { startWorker, workerScript, type WorkerScript } from '../../platform/worker-thread.js';
import type { FromLane, LaneBatch, LaneLines, LaneProgress, LaneResult, LaneWorkerData, ToLane } from './lane-protocol.js';
import { LineRouter } from './lane-route.js';
import { LaneError, type Lanes } from './lanes.js';

/**
 * Processing lanes on worker threads (lanes.ts explains why partitioning keeps the result of one
 * lane): N workers, each running a lane (lane-worker.ts) that decodes, processes and bulk-loads
 * (its own connection, BulkLoad.attach) a share of the merged archive. This thread only routes
 * line bytes (lane-route.ts): each line is copied into its lane's batch, and full batches are moved
 * (transferred ArrayBuffers, never structured-cloned objects) to the lane.
 *
 * The lanes boot (load their modules, connect) as soon as the pool is made, so replay makes it
 * before reading the archive and the boot overlaps the read; begin() hands them the listing once it
 * is known. close() is safe at any point and terminates every worker.
 */
const BATCH_LINES = 2048;
const BATCH_BYTES = 1 << 20;
/** Batches sent to a lane and not yet decoded by it: bounded memory (about 48 MiB a lane), and slack
 * of a few processing batches, so one lane busy with a batch or a slow load does not starve the others. */
const CREDITS = 48;

/**
 * A lane holds a processing batch (20k events and their rows) while it makes the next objects, so
 * most of what it allocates survives V8's default 16 MiB semi-spaces, is copied twice and dies in the
 * old generation. 192 MiB of young generation (64 MiB semi-spaces) lets most of it die young:
 * `bench:process` under --max-semi-space-size=64 uses 10–17% less CPU and less peak memory.
 */
const LANE_YOUNG_GENERATION_MB = 192;
const WORKER_MODULE = new URL('./lane-worker.ts', import.meta.url);

class LaneBatchBuilder {
  count = 0;
  used = 0;
  text = Buffer.allocUnsafeSlow(BATCH_BYTES);
  lineEnds = new Uint32Array(BATCH_LINES);
  origins = new Float64Array(BATCH_LINES);
  flags = new Uint8Array(BATCH_LINES);
  seqs = new Float64Array(BATCH_LINES);

  add(src: Buffer, start: number, end: number, origin: number, flags: number, seq: number): void {
    const bytes = end - start;
    if (this.used + bytes > this.text.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.text.length, this.used + bytes));
      this.text.copy(grown, 0, 0, this.used);
      this.text = grown;
    }
    src.copy(this.text, this.used, start, end);
    this.used += bytes;
    const i = this.count++;
    this.lineEnds[i] = this.used;
    this.origins[i] = origin;
    this.flags[i] = flags;
    this.seqs[i] = seq;
  }

  get full(): boolean {
    return this.count === BATCH_LINES || this.used >= BATCH_BYTES;
  }

  /** The batch so far (its buffers are moved away); the builder starts a new one. */
  take(): LaneBatch {
    const batch: LaneBatch = {
      count: this.count,
      text: new Uint8Array(this.text.buffer, this.text.byteOffset, this.used),
      lineEnds: this.lineEnds.subarray(0, this.count),
      origins: this.origins.subarray(0, this.count),
      flags: this.flags.subarray(0, this.count),
      seqs: this.seqs.subarray(0, this.count),
    };
    this.count = 0;
    this.used = 0;
    this.text = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.lineEnds = new Uint32Array(BATCH_LINES);
    this.origins = new Float64Array(BATCH_LINES);
    this.flags = new Uint8Array(BATCH_LINES);
    this.seqs = new Float64Array(BATCH_LINES);
    return batch;
  }
}

class LaneHandle {
  readonly worker: Worker;
  readonly builder = new LaneBatchBuilder();
  credits = CREDITS;
  progress: LaneProgress = { events: 0, duplicates: 0, invalid: 0, manifests: 0 };
  processed = false;
  result: LaneResult | null = null;
  failure: LaneError | null = null;
  private exited = false;

  constructor(
    readonly lane: number,
    script: WorkerScript,
    data: LaneWorkerData,
    private readonly logger: Logger,
    private readonly changed: () => void,
  ) {
    this.worker = startWorker(script, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: LANE_YOUNG_GENERATION_MB } });
    this.worker.on('message', (message: FromLane) => this.receive(message));
    this.worker.on('error', (error) => this.fail(new LaneError(`processing lane ${lane} failed: ${error.message}`, lane, null, { retryable: false })));
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (!this.result) this.fail(new LaneError(`processing lane ${lane} exited (code ${code}) before it was done`, lane, null, { retryable: false }));
    });
  }

  private receive(message: FromLane): void {
    switch (message.type) {
      case 'ack':
        this.credits++;
        break;
      case 'progress':
        this.progress = message.progress;
        break;
      case 'log':
        this.logger[message.level](message.message, message.fields);
        return;
      case 'processed':
        this.processed = true;
        break;
      case 'done':
        this.result = message.result;
        this.progress = message.result;
        break;
      case 'failed': {
        const error = new LaneError(message.message, this.lane, message.failedManifest, { retryable: message.retryable });
        if (message.stack) error.stack = message.stack;
        this.fail(error);
        return;
      }
    }
    this.changed();
  }

  private fail(error: LaneError): void {
    this.failure ??= error;
    this.changed();
  }

  post(message: ToLane): void {
    const transfer = message.type === 'lines' ? ([message.batch.text.buffer, message.batch.lineEnds.buffer, message.batch.origins.buffer, message.batch.flags.buffer, message.batch.seqs.buffer] as ArrayBuffer[]) : [];
    this.worker.postMessage(message, transfer);
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}

export interface LanePoolOptions {
  lanes: number;
  /** Everything but `lane`. */
  data: Omit<LaneWorkerData, 'lane'>;
  logger: Logger;
}

export class LanePool implements Lanes {
  private readonly handles: LaneHandle[] = [];
  private readonly router: LineRouter;
  private seq = 0;
  private waiter: (() => void) | null = null;
  /** Called when a lane reported progress (see `progress`). */
  onProgress: (() => void) | null = null;

  private constructor(options: LanePoolOptions, script: WorkerScript) {
    this.router = new LineRouter(options.lanes);
    for (let lane = 0; lane < options.lanes; lane++) {
      const data: LaneWorkerData = { ...options.data, lane };
      this.handles.push(new LaneHandle(lane, script, data, options.logger.child({ lane }), () => this.changed()));
    }
  }

  /** Starts the lanes' threads (they load their code and connect at once). */
  static async start(options: LanePoolOptions): Promise<LanePool> {
    return new LanePool(options, await workerScript(WORKER_MODULE));
  }

  private changed(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
    this.onProgress?.();
  }

  /** Every lane's figures so far, summed. */
  get progress(): LaneProgress {
    const sum: LaneProgress = { events: 0, duplicates: 0, invalid: 0, manifests: 0 };
    for (const { progress } of this.handles) {
      sum.events += progress.events;
      sum.duplicates += progress.duplicates;
      sum.invalid += progress.invalid;
      sum.manifests += progress.manifests;
    }
    return sum;
  }

  private throwIfFailed(): void {
    for (const handle of this.handles) if (handle.failure) throw handle.failure;
  }

  private async until(condition: () => boolean): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (condition()) return;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  get count(): number {
    return this.handles.length;
  }

  async begin(files: readonly string[]): Promise<void> {
    this.throwIfFailed();
    for (const handle of this.handles) handle.post({ type: 'start', files });
  }

  /** Routes one merged piece (copied: the piece may be recycled as soon as this resolves). */
  async route(piece: LaneLines): Promise<void> {
    this.throwIfFailed();
    const text = Buffer.from(piece.text.buffer, piece.text.byteOffset, piece.text.byteLength);
    let start = 0;
    for (let i = 0; i < piece.count; i++) {
      const end = piece.lineEnds[i]!;
      const handle = this.handles[this.router.laneOf(piece, i, text, start, end)]!;
      handle.builder.add(text, start, end, piece.origins[i]!, piece.flags[i]!, this.seq++);
      start = end;
      if (handle.builder.full) await this.send(handle);
    }
  }

  private async send(handle: LaneHandle): Promise<void> {
    await this.until(() => handle.credits > 0);
    handle.credits--;
    handle.post({ type: 'lines', batch: handle.builder.take() });
  }

  /** Sends the last lines, tells every lane to finish, and resolves once each has processed them. */
  async endProcessing(): Promise<void> {
    for (const handle of this.handles) {
      if (handle.builder.count > 0) await this.send(handle);
      handle.post({ type: 'end' });
    }
    await this.until(() => this.handles.every((handle) => handle.processed));
  }

  async drain(): Promise<LaneResult[]> {
    await this.until(() => this.handles.every((handle) => handle.result !== null));
    return this.handles.map((handle) => handle.result!);
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((handle) => handle.terminate()));
  }
}
