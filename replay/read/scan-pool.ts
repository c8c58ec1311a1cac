import type { Worker } from 'node:worker_threads';
import { startWorker, workerScript, type WorkerScript } from '../../platform/worker-thread.js';
import { scanObject, type ArchiveReadLimits, type ObjectScan } from './archived-line.js';
import { RunBuilder, RunMerger, batchBuffers, removeRunFiles, type MemoryRun, type MergedBatch, type RunBuilderResult } from '../order/sorted-runs.js';

/**
 * Where the scan runs: `WorkerScanPool` spreads objects over worker threads (each gunzips, keys and
 * sorts its share into its own runs: all cores busy) and merges on one of them while the main thread
 * parses what it hands out; `InlineScanPool` does the same on the calling thread (small selections,
 * where starting workers costs more than it saves). Either way the run budget is shared: the
 * builders together keep at most `maxRunBytes` of records in memory.
 *
 * Lifecycle: scan(...)* → finish() → merge() → close(). close() is safe at any point and on every
 * path: it terminates the workers and removes the run files.
 */
export interface ScanPool {
  /** Scans one object; results may complete out of order. */
  scan(objectIndex: number, file: string, body: Uint8Array): Promise<ObjectScan>;
  /** Sorts the last runs after the final scan. */
  finish(): Promise<void>;
  readonly spilledBytes: number;
  /** Runs merged (known once merge() started). */
  readonly runs: number;
  /** Every line in key order, in batches. Once. */
  merge(maxLines: number, maxBytes: number): AsyncGenerator<MergedBatch>;
  close(): Promise<void>;
}

export interface ScanPoolOptions {
  tempDir: string;
  maxRunBytes: number;
  limits?: ArchiveReadLimits;
}

export class InlineScanPool implements ScanPool {
  private readonly builder: RunBuilder;
  private result: RunBuilderResult | null = null;
  private merger: RunMerger | null = null;
  private readonly limits: ArchiveReadLimits | undefined;
  spilledBytes = 0;
  runs = 0;

  constructor(options: ScanPoolOptions) {
    this.limits = options.limits;
    this.builder = new RunBuilder({ tempDir: options.tempDir, budgetBytes: options.maxRunBytes, filePrefix: 'run-w0' });
  }

  scan(objectIndex: number, file: string, body: Uint8Array): Promise<ObjectScan> {
    return scanObject(body, file, objectIndex, this.builder, this.limits);
  }

  async finish(): Promise<void> {
    this.result = this.builder.finish();
    this.spilledBytes = this.result.spilledBytes;
  }

  async *merge(maxLines: number, maxBytes: number): AsyncGenerator<MergedBatch> {
    const result = this.result!;
    this.merger = new RunMerger({ files: result.files, memoryRuns: result.memoryRun ? [result.memoryRun] : [] });
    this.runs = this.merger.runs;
    try {
      for (let batch = this.merger.next(maxLines, maxBytes); batch; batch = this.merger.next(maxLines, maxBytes)) yield batch;
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    this.merger?.close();
    this.merger = null;
    removeRunFiles(this.builder.runFiles);
  }
}

// ---- workers ----

/** Messages to a scan worker. */
export type ToScanWorker =
  | { type: 'object'; objectIndex: number; file: string; body: Uint8Array }
  | { type: 'finish' }
  | { type: 'merge'; files: string[]; memoryRuns: MemoryRun[]; maxLines: number; maxBytes: number; ahead: number }
  | { type: 'ack'; recycled: MergedBatch | null };

/** Messages from a scan worker. */
export type FromScanWorker =
  | { type: 'object'; objectIndex: number; scan: ObjectScan }
  | { type: 'finished'; result: RunBuilderResult }
  | { type: 'merging'; runs: number }
  | { type: 'batch'; batch: MergedBatch | null }
  | { type: 'failed'; message: string; stack?: string };

export interface ScanWorkerData {
  tempDir: string;
  budgetBytes: number;
  filePrefix: string;
  limits?: ArchiveReadLimits;
}

const WORKER_MODULE = new URL('./scan-worker.ts', import.meta.url);

export class ScanWorkerError extends Error {}

/** One worker and the replies it owes. */
class ScanWorkerHandle {
  readonly worker: Worker;
  outstanding = 0;
  failure: Error | null = null;
  /** Run files this worker wrote (known at finish). */
  files: string[] = [];
  private readonly scans = new Map<number, { resolve: (scan: ObjectScan) => void; reject: (error: Error) => void }>();
  private readonly inbox: FromScanWorker[] = [];
  private waiter: { resolve: () => void } | null = null;
  private exited = false;

  constructor(script: WorkerScript, data: ScanWorkerData) {
    this.worker = startWorker(script, { workerData: data });
    this.worker.on('message', (message: FromScanWorker) => {
      if (message.type === 'object') {
        this.outstanding--;
        const pending = this.scans.get(message.objectIndex);
        this.scans.delete(message.objectIndex);
        pending?.resolve(message.scan);
        return;
      }
      if (message.type === 'failed') {
        const error = new ScanWorkerError(`scan worker failed: ${message.message}`);
        if (message.stack) error.stack = message.stack;
        this.fail(error);
        return;
      }
      this.inbox.push(message);
      this.wake();
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.fail(new ScanWorkerError(`scan worker exited (code ${code})`));
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.scans.values()) pending.reject(this.failure);
    this.scans.clear();
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve();
  }

  scan(objectIndex: number, file: string, body: Uint8Array): Promise<ObjectScan> {
    if (this.failure) return Promise.reject(this.failure);
    // A private copy: the store's buffer may be shared (a pool slice, a cache), this one is moved.
    const copy = new Uint8Array(body);
    this.outstanding++;
    const done = new Promise<ObjectScan>((resolve, reject) => this.scans.set(objectIndex, { resolve, reject }));
    this.post({ type: 'object', objectIndex, file, body: copy }, [copy.buffer]);
    return done;
  }

  post(message: ToScanWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  /** The next non-scan reply; throws once the worker failed. */
  async receive(): Promise<FromScanWorker> {
    for (;;) {
      const message = this.inbox.shift();
      if (message) return message;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = { resolve }));
    }
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}

export class WorkerScanPool implements ScanPool {
  private readonly handles: ScanWorkerHandle[] = [];
  private readonly memoryRuns: MemoryRun[] = [];
  private readonly files: string[] = [];
  private merger: ScanWorkerHandle | null = null;
  spilledBytes = 0;
  runs = 0;

  private constructor(options: ScanPoolOptions & { workers: number }, script: WorkerScript) {
    const budgetBytes = Math.max(4096, Math.floor(options.maxRunBytes / options.workers));
    for (let i = 0; i < options.workers; i++) {
      this.handles.push(new ScanWorkerHandle(script, { tempDir: options.tempDir, budgetBytes, filePrefix: `run-w${i}`, limits: options.limits }));
    }
  }

  static async start(options: ScanPoolOptions & { workers: number }): Promise<WorkerScanPool> {
    return new WorkerScanPool(options, await workerScript(WORKER_MODULE));
  }

  scan(objectIndex: number, file: string, body: Uint8Array): Promise<ObjectScan> {
    let target = this.handles[0]!;
    for (const handle of this.handles) if (handle.outstanding < target.outstanding) target = handle;
    return target.scan(objectIndex, file, body);
  }

  async finish(): Promise<void> {
    for (const handle of this.handles) handle.post({ type: 'finish' });
    for (const handle of this.handles) {
      const reply = await handle.receive();
      if (reply.type !== 'finished') throw new ScanWorkerError(`scan worker answered ${reply.type} to finish`);
      handle.files = reply.result.files;
      this.files.push(...reply.result.files);
      this.spilledBytes += reply.result.spilledBytes;
      if (reply.result.memoryRun) this.memoryRuns.push(reply.result.memoryRun);
    }
    // One worker merges; the others are done. Until the merge starts the merger is idle and must
    // not keep the process alive (a caller that fails before reading the events, and never closes).
    this.merger = this.handles[0]!;
    this.merger.worker.unref();
    await Promise.all(this.handles.slice(1).map((handle) => handle.terminate()));
  }

  async *merge(maxLines: number, maxBytes: number): AsyncGenerator<MergedBatch> {
    const merger = this.merger!;
    const ahead = 4;
    merger.worker.ref();
    try {
      const memoryRuns = this.memoryRuns.splice(0);
      merger.post({ type: 'merge', files: this.files, memoryRuns, maxLines, maxBytes, ahead }, memoryRuns.map((run) => run.arena.buffer as ArrayBuffer));
      const started = await merger.receive();
      if (started.type !== 'merging') throw new ScanWorkerError(`scan worker answered ${started.type} to merge`);
      this.runs = started.runs;
      for (;;) {
        const reply = await merger.receive();
        if (reply.type !== 'batch') throw new ScanWorkerError(`scan worker sent ${reply.type} while merging`);
        if (!reply.batch) break;
        yield reply.batch;
        // Consumed: its buffers go back to be refilled; the worker stays `ahead` batches in front.
        merger.post({ type: 'ack', recycled: reply.batch }, batchBuffers(reply.batch));
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((handle) => handle.terminate()));
    this.memoryRuns.length = 0;
    // Files of a worker that failed before finish() are not listed: the owner removes the temp dir.
    removeRunFiles(this.files);
  }
}
