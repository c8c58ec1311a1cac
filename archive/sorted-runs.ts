import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * External sort of (key, line) entries with bounded memory: entries are collected into a run of at
 * most `maxRunBytes` (UTF-16 estimate of key + line), sorted in memory and, once more than one run
 * exists, spilled to a temp file as `key\torigin\tline\n`. `merge` yields every entry in key order (a
 * k-way merge over the runs with a binary heap), by default skipping entries whose key equals the
 * previous one.
 *
 * Memory: a full run is detached and written while the next one fills; `add` then returns the
 * spill's promise and the caller waits for it before adding much more (backpressure), so at most two
 * runs are in memory.
 *
 * Keys must not contain tabs or newlines; lines must not contain newlines (JSON text never does).
 */
export interface SortedEntry {
  key: string;
  line: string;
  /** A non-negative integer the caller attaches (replay: where the line came from). */
  origin: number;
}

export interface SortedRunsOptions {
  tempDir: string;
  maxRunBytes: number;
}

export interface MergeStats {
  runs: number;
  spilledBytes: number;
  duplicates: number;
}

const compareEntries = (a: SortedEntry, b: SortedEntry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export class SortedRuns {
  private current: SortedEntry[] = [];
  private currentBytes = 0;
  private readonly files: string[] = [];
  /** The spill in progress (spills run one after another), or null. */
  private spilling: Promise<void> | null = null;
  private spillError: unknown = null;
  readonly stats: MergeStats = { runs: 0, spilledBytes: 0, duplicates: 0 };

  constructor(private readonly options: SortedRunsOptions) {}

  /**
   * Adds one entry. Synchronous, except when the entry fills the run: the run is then handed to a
   * spill and its promise returned; wait for it before adding many more (see the class comment).
   */
  add(key: string, line: string, origin = 0): Promise<void> | undefined {
    this.current.push({ key, line, origin });
    this.currentBytes += 2 * (key.length + line.length) + 64;
    if (this.currentBytes >= this.options.maxRunBytes) return this.startSpill();
    return undefined;
  }

  get bufferedBytes(): number {
    return this.currentBytes;
  }

  /** Resolves when no spill is in progress; rejects with a failed spill's error. */
  async settled(): Promise<void> {
    while (this.spilling) await this.spilling;
    if (this.spillError) throw this.spillError;
  }

  private startSpill(): Promise<void> {
    const entries = this.current;
    this.current = [];
    this.currentBytes = 0;
    const file = path.join(this.options.tempDir, `run-${String(this.files.length).padStart(5, '0')}.tsv`);
    this.files.push(file);
    const previous = this.spilling ?? Promise.resolve();
    const spill: Promise<void> = previous
      .then(() => this.writeRun(entries, file))
      .catch((error: unknown) => {
        this.spillError ??= error;
      })
      .finally(() => {
        if (this.spilling === spill) this.spilling = null;
      });
    this.spilling = spill;
    return spill;
  }

  private async writeRun(entries: SortedEntry[], file: string): Promise<void> {
    if (this.spillError) return;
    entries.sort(compareEntries);
    const handle = await fs.open(file, 'w');
    try {
      let chunk: string[] = [];
      let chunkChars = 0;
      for (const entry of entries) {
        const origin = String(entry.origin);
        chunk.push(entry.key, '\t', origin, '\t', entry.line, '\n');
        chunkChars += entry.key.length + origin.length + entry.line.length + 3;
        if (chunkChars >= 1 << 20) {
          const text = chunk.join('');
          this.stats.spilledBytes += Buffer.byteLength(text);
          await handle.write(text);
          chunk = [];
          chunkChars = 0;
        }
      }
      if (chunk.length > 0) {
        const text = chunk.join('');
        this.stats.spilledBytes += Buffer.byteLength(text);
        await handle.write(text);
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Every entry in key order; with `dedupe` (default), equal keys collapsed to the first. Yields
   * arrays (batches) to keep per-entry overhead out of the async machinery. Consumes the runs.
   */
  async *merge(batchSize = 1000, options: { dedupe?: boolean } = {}): AsyncGenerator<SortedEntry[]> {
    const dedupe = options.dedupe ?? true;
    await this.settled();
    const cursors: RunCursor[] = [];
    if (this.files.length === 0) {
      this.current.sort(compareEntries);
      cursors.push(new MemoryCursor(this.current));
      this.current = [];
    } else {
      if (this.current.length > 0) this.startSpill();
      await this.settled();
      for (const file of this.files) cursors.push(new FileCursor(file));
    }
    this.stats.runs = cursors.length;
    const heap: RunCursor[] = [];
    for (const cursor of cursors) if (await cursor.advance()) heap.push(cursor);
    heapify(heap);
    let previousKey: string | null = null;
    let batch: SortedEntry[] = [];
    try {
      while (heap.length > 0) {
        const top = heap[0]!;
        const entry = top.head!;
        if (dedupe && entry.key === previousKey) this.stats.duplicates++;
        else {
          batch.push(entry);
          previousKey = entry.key;
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
          }
        }
        // advance() is synchronous until a file chunk runs out: await only then (an await per entry costs a microtask).
        let more = top.advance();
        if (typeof more !== 'boolean') more = await more;
        if (more) siftDown(heap, 0);
        else {
          const last = heap.pop()!;
          if (heap.length > 0) {
            heap[0] = last;
            siftDown(heap, 0);
          }
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      for (const cursor of cursors) cursor.close();
      await Promise.all(this.files.map((file) => fs.rm(file, { force: true })));
      this.files.length = 0;
    }
  }
}

interface RunCursor {
  head: SortedEntry | null;
  /** Moves to the next entry; false at the end. Synchronous most of the time (buffered). */
  advance(): Promise<boolean> | boolean;
  close(): void;
}

class MemoryCursor implements RunCursor {
  head: SortedEntry | null = null;
  private index = 0;
  constructor(private readonly entries: SortedEntry[]) {}
  advance(): boolean {
    this.head = this.index < this.entries.length ? this.entries[this.index++]! : null;
    return this.head !== null;
  }
  close(): void {}
}

/** Reads a run file in 1 MiB chunks; only the current chunk's lines are in memory. */
class FileCursor implements RunCursor {
  head: SortedEntry | null = null;
  private lines: string[] = [];
  private index = 0;
  private carry = '';
  private readonly iterator: AsyncIterator<string>;
  private ended = false;

  constructor(file: string) {
    this.iterator = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  }

  advance(): Promise<boolean> | boolean {
    if (this.index < this.lines.length) return this.take();
    return this.refill();
  }

  private take(): boolean {
    const line = this.lines[this.index++]!;
    const tab = line.indexOf('\t');
    const tab2 = line.indexOf('\t', tab + 1);
    this.head = { key: line.slice(0, tab), origin: Number(line.slice(tab + 1, tab2)), line: line.slice(tab2 + 1) };
    return true;
  }

  private async refill(): Promise<boolean> {
    while (!this.ended) {
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const parts = (this.carry + (next.value as string)).split('\n');
      this.carry = parts.pop()!;
      if (parts.length > 0) {
        this.lines = parts;
        this.index = 0;
        return this.take();
      }
    }
    this.head = null;
    return false;
  }

  close(): void {
    void this.iterator.return?.();
  }
}

function heapify(heap: RunCursor[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
}

function less(a: RunCursor, b: RunCursor): boolean {
  return a.head!.key < b.head!.key;
}

function siftDown(heap: RunCursor[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && less(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && less(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === i) return;
    [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
    i = smallest;
  }
}
