import fs from 'node:fs/promises';
import path from 'node:path';
import { compareVersion } from '../../contracts/change-event.js';
import type { Logger } from '../../platform/logger.js';
import type { VersionedRow } from '../transform/versioned-row.js';
import { StateStoreError, type JoinSourceTable, type JoinStateStore } from './join-state-store.js';
import { MemoryJoinStateStore } from './memory-join-state-store.js';
import { writeFileDurable } from '../../platform/atomic-file.js';

/**
 * Embedded join state: an append-only NDJSON log on disk replayed into a map at open. Only lines
 * that raise a row's version are appended; they are buffered and `flush` writes them in one write
 * and fdatasyncs once per batch (group commit: one write and one fsync per batch instead of one
 * write per put, which was a tenth of the processor's CPU time in a catch-up). A crash can lose
 * unflushed lines or leave a torn last line, which open() cuts off: neither was flushed, so the
 * processor never checkpointed past them and re-processes their batch after a restart (puts are
 * idempotent).
 *
 * Invariant: the map = the log's lines up to `logBytes` + `pending`, in order. A line leaves
 * `pending` only once written whole; after a failed write the file is cut back to `logBytes` before
 * the next one, so a retried flush never leaves a torn line between good ones (open() would drop
 * everything after it) and never loses a line the map already holds (a re-processed put that the
 * map already has is not logged again). The log is compacted at open when it holds many superseded
 * lines.
 */
const LOG_FILE = 'join-state.ndjson';
/** Pending lines are written (not synced) once they reach this many characters: bounded memory. */
const MAX_PENDING_CHARS = 1024 * 1024;

interface LogLine {
  t: JoinSourceTable;
  id: number;
  lsn: string;
  seq: number;
  d: boolean;
  row: VersionedRow['row'];
}

export class LocalJoinStateStore implements JoinStateStore {
  private readonly memory = new MemoryJoinStateStore();
  private queue: Promise<unknown> = Promise.resolve();
  private handle: fs.FileHandle | undefined;
  /** Written but not yet synced. */
  private dirty = false;
  /** Lines applied to the map, not yet written. */
  private pending: string[] = [];
  private pendingChars = 0;
  /** Bytes of whole lines in the file; after a failed write, what it is cut back to. */
  private logBytes = 0;
  private cutBeforeWrite = false;

  private constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, logger: Logger): Promise<LocalJoinStateStore> {
    await fs.mkdir(dir, { recursive: true });
    const store = new LocalJoinStateStore(path.join(dir, LOG_FILE), logger);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    let good = 0; // byte length of the intact prefix
    let lines = 0;
    let offset = 0;
    while (offset < text.length) {
      const end = text.indexOf('\n', offset);
      if (end < 0) break; // torn tail: never acknowledged
      const line = text.slice(offset, end);
      try {
        this.apply(JSON.parse(line) as LogLine);
      } catch {
        break; // a corrupt line can only be a torn write; everything after it is unacknowledged too
      }
      lines++;
      offset = end + 1;
      good = Buffer.byteLength(text.slice(0, offset));
    }
    const size = Buffer.byteLength(text);
    if (good < size) {
      this.logger.warn('cutting a torn write off the join state log', { file: this.file, bytes: size - good });
      await fs.truncate(this.file, good);
    }
    if (lines > 2 * this.memory.size + 1000) await this.compact();
    this.handle = await fs.open(this.file, 'a');
    this.logBytes = (await this.handle.stat()).size;
  }

  private apply(line: LogLine): boolean {
    return this.memory.apply(line.t, line.id, { row: line.row, version: { lsn: BigInt(line.lsn), seq: line.seq }, deleted: line.d });
  }

  private async compact(): Promise<void> {
    const body = [...this.memory.entries()].map(({ table, id, value }) => JSON.stringify(toLine(table, id, value)) + '\n');
    await writeFileDurable(this.file, body.join(''));
  }

  put(table: JoinSourceTable, id: number, value: VersionedRow): Promise<VersionedRow> {
    // Serialised so the log's order is the map's order.
    const run = this.queue.then(async () => {
      const line = toLine(table, id, value);
      const current = this.memory.current(table, id);
      if (current && compareVersion(current.version, value.version) >= 0) return current;
      if (!this.handle) throw new StateStoreError('join state store is closed', table, id, { retryable: false });
      const text = JSON.stringify(line) + '\n';
      this.apply(line);
      this.pending.push(text);
      this.pendingChars += text.length;
      if (this.pendingChars >= MAX_PENDING_CHARS) await this.writePending(table, id);
      return value;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Appends the pending lines in one write; on failure they stay pending (see the invariant above). */
  private async writePending(table?: JoinSourceTable, id?: number): Promise<void> {
    if (this.pending.length === 0 || !this.handle) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    try {
      if (this.cutBeforeWrite) {
        await this.handle.truncate(this.logBytes);
        this.cutBeforeWrite = false;
      }
      this.dirty = true;
      // The file is open for appending: every write lands at its end, so the rest of a short write follows it.
      for (let written = 0; written < bytes.length; ) written += (await this.handle.write(bytes, written, bytes.length - written)).bytesWritten;
    } catch (cause) {
      this.cutBeforeWrite = true;
      throw new StateStoreError(`cannot write join state: ${(cause as Error).message}`, table, id, { retryable: true, cause });
    }
    this.logBytes += bytes.length;
    this.pending = [];
    this.pendingChars = 0;
  }

  flush(): Promise<void> {
    const run = this.queue.then(async () => {
      await this.writePending();
      if (!this.dirty || !this.handle) return;
      try {
        await this.handle.datasync();
      } catch (cause) {
        throw new StateStoreError(`cannot sync join state: ${(cause as Error).message}`, undefined, undefined, { retryable: true, cause });
      }
      this.dirty = false;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async get(table: JoinSourceTable, id: number): Promise<VersionedRow | null> {
    await this.queue;
    return this.memory.get(table, id);
  }

  async staffIdsOfDepartment(departmentId: number): Promise<number[]> {
    await this.queue;
    return this.memory.staffIdsOfDepartment(departmentId);
  }

  async counterpartyIdsOfAddress(addressId: number): Promise<number[]> {
    await this.queue;
    return this.memory.counterpartyIdsOfAddress(addressId);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle?.close();
    this.handle = undefined;
  }
}

function toLine(t: JoinSourceTable, id: number, value: VersionedRow): LogLine {
  return { t, id, lsn: value.version.lsn.toString(), seq: value.version.seq, d: value.deleted, row: value.row };
}
