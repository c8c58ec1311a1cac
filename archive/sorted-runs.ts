import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * External sort of (key, line) entries with bounded memory: entries are collected into a run of at
 * most `maxRunBytes` (UTF-16 estimate of key + line), sorted in memory and, once more than one run
 * exists, spilled to a temp file as `key\tline\n`. `merge` yields every entry in key order (a k-way
 * merge over the runs with a binary heap), skipping entries whose key equals the previous one.
 *
 * Keys must not contain tabs or newlines; lines must not contain newlines (JSON text never does).
 */
export interface SortedEntry {
  key: string;
  line: string;
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
  readonly stats: MergeStats = { runs: 0, spilledBytes: 0, duplicates: 0 };

  constructor(private readonly options: SortedRunsOptions) {}

  /** Adds one entry; spills the current run when full. */
  async add(key: string, line: string): Promise<void> {
    this.current.push({ key, line });
    this.currentBytes += 2 * (key.length + line.length) + 64;
    if (this.currentBytes >= this.options.maxRunBytes) await this.spill();
  }

  get bufferedBytes(): number {
    return this.currentBytes;
  }

  private async spill(): Promise<void> {
    if (this.current.length === 0) return;
    this.current.sort(compareEntries);
    const file = path.join(this.options.tempDir, `run-${String(this.files.length).padStart(5, '0')}.tsv`);
    const handle = await fs.open(file, 'w');
    try {
      let chunk: string[] = [];
      let chunkChars = 0;
      for (const entry of this.current) {
        chunk.push(entry.key, '\t', entry.line, '\n');
        chunkChars += entry.key.length + entry.line.length + 2;
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
    this.files.push(file);
    this.current = [];
    this.currentBytes = 0;
  }

  /**
   * Every entry once, in key order, equal keys collapsed to the first. Yields arrays (batches) to
   * keep per-entry overhead out of the async machinery. Consumes the runs.
   */
  async *merge(batchSize = 1000): AsyncGenerator<SortedEntry[]> {
    const cursors: RunCursor[] = [];
    if (this.files.length === 0) {
      this.current.sort(compareEntries);
      cursors.push(new MemoryCursor(this.current));
      this.current = [];
    } else {
      await this.spill();
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
        if (entry.key === previousKey) this.stats.duplicates++;
        else {
          batch.push(entry);
          previousKey = entry.key;
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
          }
        }
        if (await top.advance()) siftDown(heap, 0);
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
    this.head = { key: line.slice(0, tab), line: line.slice(tab + 1) };
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
