import fs from 'node:fs/promises';
import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { runCapture } from '../../capture/run-capture.js';
import { killCaptureChildren } from './capture-child-process.js';
import { createTestDatabase, type TestDatabase, withClient } from './postgres.js';
import { createTotesysSchema, INSERT_SALES_ORDERS, seedParents } from './totesys-source.js';

export interface CaptureSource {
  /** The source database's URL (the totesys schema with its parent rows seeded). */
  readonly url: string;
  /** A temp directory for the file's capture output or state; only with `tempDir: true`. */
  readonly dir: string;
}

export interface CaptureSourceOptions {
  /** Sales orders inserted before the tests (so a snapshot has rows to read); default 0. */
  salesOrders?: number;
  /** Make a temp directory for the file, removed after it; default false. */
  tempDir?: boolean;
}

/**
 * A capture test file's source: before its tests a fresh database with the totesys schema, parents
 * seeded and `salesOrders` orders; after them every capture child still running is killed (a live
 * walsender would keep the database from being dropped), then the database and temp dir go.
 */
export function useCaptureSource(label: string, options: CaptureSourceOptions = {}): CaptureSource {
  let db: TestDatabase | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(label);
    if (options.tempDir) dir = await fs.mkdtemp(path.join(os.tmpdir(), `${label.replace(/\W+/g, '-')}-`));
    await createTotesysSchema(db.url);
    await seedParents(db.url);
    if (options.salesOrders) await withClient(db.url, (c) => c.query(INSERT_SALES_ORDERS, [options.salesOrders]));
  });
  afterAll(async () => {
    killCaptureChildren();
    await db?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });
  return {
    get url() {
      return db!.url;
    },
    get dir() {
      if (!dir) throw new Error('useCaptureSource: pass { tempDir: true } for a temp directory');
      return dir;
    },
  };
}

/**
 * Runs the capture until its snapshot has read `rows` sales orders, then stops it (a stop request,
 * like a task stopped mid-snapshot): the next run finds the snapshot abandoned.
 */
export async function abandonSnapshotAfter(options: Omit<Parameters<typeof runCapture>[0], 'signal' | 'onSnapshotProgress'>, rows: number): Promise<void> {
  const abort = new AbortController();
  const result = await runCapture({
    snapshotBatchRows: 500,
    ...options,
    signal: abort.signal,
    onSnapshotProgress: (p) => p.table === 'sales_order' && p.rows >= rows && abort.abort(),
  });
  expect(result.reason).toBe('signal');
}

/**
 * An exported snapshot of `source` (its name), held open from before the tests until after them:
 * an exported snapshot stays usable while the transaction that exported it is open. `before` runs
 * first (rows the snapshot should see).
 */
export function useExportedSnapshot(source: CaptureSource, before?: () => Promise<void>): { readonly name: string } {
  let holder: pg.Client | undefined;
  let name: string | undefined;
  beforeAll(async () => {
    await before?.();
    holder = new pg.Client({ connectionString: source.url });
    await holder.connect();
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    name = (await holder.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
  });
  afterAll(async () => {
    await holder?.query('COMMIT');
    await holder?.end();
  });
  return {
    get name() {
      if (!name) throw new Error('useExportedSnapshot: the snapshot is exported before the tests');
      return name;
    },
  };
}
