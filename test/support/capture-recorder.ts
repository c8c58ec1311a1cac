import fs from 'node:fs';
import { expect } from 'vitest';
import { compareVersion, eventVersion, parseChangeEvent, partitionKeyOf, recordKind, type ChangeEvent } from '../../contracts/change-event.js';
import { parseReconcile, type ReconcileRecord } from '../../contracts/reconcile.js';
import type { ChangeStreamWriter, StreamRecord } from '../../stream/change-stream.js';

/**
 * Test stand-ins for the change stream writer (capture tests must not depend on the stream area).
 * RecordingWriter keeps every put in memory, in order; it can be told to fail the next puts.
 * (NdjsonFileWriter, the fsynced file writer for child processes, is in ./ndjson-file-writer.ts.)
 */
export class RecordingWriter implements ChangeStreamWriter {
  readonly records: StreamRecord[] = [];
  puts = 0;
  failNext = 0;
  failWith: () => Error = () => Object.assign(new Error('injected put failure'), { code: 'ECONNRESET' });
  delayMs = 0;
  closed = false;

  async put(records: readonly StreamRecord[]): Promise<void> {
    this.puts++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext > 0) {
      this.failNext--;
      // Like a real stream: a prefix may have been stored before the failure.
      this.records.push(...records.slice(0, Math.floor(records.length / 2)));
      throw this.failWith();
    }
    this.records.push(...records);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The change events, in put order (other records, e.g. reconcile copies, left out). */
  events(): ChangeEvent[] {
    return this.texts('change').map((text) => parseChangeEvent(text));
  }

  /** The reconcile records (contracts/reconcile.ts), in put order. */
  reconciles(): ReconcileRecord[] {
    return this.texts('reconcile').map((text) => parseReconcile(text));
  }

  private texts(kind: ReturnType<typeof recordKind>): string[] {
    return this.records.map((r) => Buffer.from(r.data).toString('utf8')).filter((text) => recordKind(text) === kind);
  }
}

/** Reads an NDJSON event file; a torn last line (kill -9 mid-write, never fsynced) is dropped. */
export function readNdjsonEvents(file: string): ChangeEvent[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const events: ChangeEvent[] = [];
  for (const line of lines) {
    if (!line) continue;
    try {
      events.push(parseChangeEvent(line));
    } catch {
      // only a torn tail can be unparsable
    }
  }
  return events;
}

/** Applies events in stream order per key and returns the resulting table state. */
export function applyEvents(events: ChangeEvent[]): Map<string, Map<string, Record<string, unknown>>> {
  const tables = new Map<string, Map<string, Record<string, unknown>>>();
  for (const e of events) {
    const rows = tables.get(e.table) ?? new Map();
    tables.set(e.table, rows);
    const key = String(Object.values(e.key)[0]);
    if (e.op === 'd') rows.delete(key);
    else rows.set(key, e.after!);
  }
  return tables;
}

/** Per key: a version lower than one already seen is allowed only as a replay of a seen id with identical content. */
export function assertPerKeyOrder(events: ChangeEvent[]): void {
  const seen = new Map<string, string>();
  const highest = new Map<string, ChangeEvent>();
  for (const e of events) {
    const text = JSON.stringify(e);
    const earlier = seen.get(e.id);
    if (earlier !== undefined) {
      expect(text, `duplicate ${e.id} differs`).toBe(earlier);
      continue;
    }
    seen.set(e.id, text);
    const key = partitionKeyOf(e);
    const top = highest.get(key);
    if (top) expect(compareVersion(eventVersion(e), eventVersion(top)), `${key}: ${e.id} after ${top.id}`).toBeGreaterThan(0);
    highest.set(key, e);
  }
}
