import pg from 'pg';
import type { ReconcileKey } from '../../contracts/reconcile.js';
import { isSourceTable, type SourceTable } from '../../contracts/source-tables.js';
import { withPostgresClient } from '../../platform/postgres-client.js';
import { editPublicationComment, readPublicationComment, type CommentLines } from './publication-comment.js';

/**
 * `resnapshot --table` jobs, durable in the source: one line of the publication's comment per job
 * (publication-comment.ts), `totesys-cdc resnapshot {"requestId":…,"table":…,"keyAfter":…}`. The
 * CLI writes a job when it requests it; the capture rewrites it after each chunk it completed (its
 * `r` events and reconcile record durable in the stream), so a capture that restarts, anywhere,
 * resumes it from the chunk after `keyAfter` (capture/snapshot/incremental-snapshot.ts). A finished
 * job stays as `done` (the last MAX_DONE of them), so a request seen again in the WAL after a
 * restart is recognised and not run twice.
 */
export interface PersistedResnapshot {
  requestId: string;
  table: SourceTable;
  state: 'running' | 'done';
  /** The last key of the last completed chunk; null: none completed yet. */
  keyAfter: ReconcileKey | null;
  chunks: number;
  rowsRead: number;
  rowsPublished: number;
  startedAt: string;
}

/** The slice of durable storage the resnapshot jobs need (tests pass a memory one). */
export interface ResnapshotJobStore {
  load(): Promise<PersistedResnapshot[]>;
  /** Inserts or replaces the job with this requestId. */
  save(job: PersistedResnapshot): Promise<void>;
}

const PREFIX = 'totesys-cdc resnapshot ';
/** Finished jobs kept for recognising their request again. */
const MAX_DONE = 10;

export function parseJobLines(lines: CommentLines): PersistedResnapshot[] {
  const jobs: PersistedResnapshot[] = [];
  for (const line of lines.rest) {
    if (!line.startsWith(PREFIX)) continue;
    try {
      const job = JSON.parse(line.slice(PREFIX.length)) as PersistedResnapshot;
      if (typeof job.requestId === 'string' && isSourceTable(job.table) && (job.state === 'running' || job.state === 'done')) jobs.push(job);
    } catch {
      // a line that is not ours, or damaged by hand: ignored (the job is requested again)
    }
  }
  return jobs;
}

/** The comment with `job` in place of its earlier line (or appended), and only the last MAX_DONE finished jobs. */
export function withJob(lines: CommentLines, job: PersistedResnapshot): CommentLines {
  const jobs = parseJobLines(lines).filter((j) => j.requestId !== job.requestId);
  jobs.push(job);
  const done = jobs.filter((j) => j.state === 'done');
  const kept = jobs.filter((j) => j.state !== 'done' || done.indexOf(j) >= done.length - MAX_DONE);
  const others = lines.rest.filter((line) => !line.startsWith(PREFIX));
  return { marker: lines.marker, rest: [...others, ...kept.map((j) => PREFIX + JSON.stringify(j))] };
}

/** The store in the capture's publication comment; a short-lived connection per call (a few per 1,000 rows re-read). */
export function publicationJobStore(sourceUrl: string, publicationName: string): ResnapshotJobStore {
  const withClient = <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> =>
    withPostgresClient({ url: sourceUrl, applicationName: 'totesys-cdc-resnapshot-jobs', connectionTimeoutMs: 10_000, queryTimeoutMs: 10_000 }, fn);
  return {
    load: () => withClient(async (client) => parseJobLines((await readPublicationComment(client, publicationName)) ?? { marker: '', rest: [] })),
    save: (job) =>
      withClient(async (client) => {
        await editPublicationComment(client, publicationName, (lines) => withJob(lines, job));
      }),
  };
}
