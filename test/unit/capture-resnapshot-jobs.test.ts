import { describe, expect, it } from 'vitest';
import { parseCommentLines } from '../../capture/control/publication-comment.js';
import { parseJobLines, withJob, type PersistedResnapshot, type ResnapshotJobStore } from '../../capture/control/resnapshot-jobs.js';
import type { EventPublisher } from '../../capture/publish/event-publisher.js';
import { CaptureStats } from '../../capture/reporting/capture-status.js';
import { IncrementalSnapshots, SNAPSHOT_WINDOW_PREFIX, resnapshotRequestContent, type Chunk, type ChunkSource } from '../../capture/snapshot/incremental-snapshot.js';
import { parseReconcile } from '../../contracts/reconcile.js';
import { silentLogger } from '../../platform/logger.js';

/**
 * The durable resnapshot job (docs/capture-spec.md I4, I5) without a database: the comment lines,
 * and the job's life across sessions against a memory store, a table of keys 1..n read in chunks,
 * and a session driven by hand (each watermark message the source writes is handed back as the
 * stream would).
 */
const job = (o: Partial<PersistedResnapshot> = {}): PersistedResnapshot => ({ requestId: 'a', table: 'sales_order', state: 'running', keyAfter: null, chunks: 0, rowsRead: 0, rowsPublished: 0, startedAt: '2026-12-07T07:00:00.000Z', ...o });

describe('resnapshot jobs in the publication comment', () => {
  it('replaces a job by request id, keeps the marker and foreign lines, and keeps only the last 10 finished jobs', () => {
    let lines = parseCommentLines('totesys-cdc snapshot complete slot=s lsn=0/16B3748\nsomeone else wrote this');
    lines = withJob(lines, job());
    lines = withJob(lines, job({ keyAfter: 1000, chunks: 1 }));
    expect(lines.marker).toBe('totesys-cdc snapshot complete slot=s lsn=0/16B3748');
    expect(lines.rest[0]).toBe('someone else wrote this');
    expect(parseJobLines(lines)).toEqual([job({ keyAfter: 1000, chunks: 1 })]);
    for (let i = 0; i < 12; i++) lines = withJob(lines, job({ requestId: `done-${i}`, state: 'done' }));
    const kept = parseJobLines(lines);
    expect(kept.filter((j) => j.state === 'done').map((j) => j.requestId)).toEqual(Array.from({ length: 10 }, (_, i) => `done-${i + 2}`));
    expect(kept.find((j) => j.requestId === 'a')).toMatchObject({ state: 'running', keyAfter: 1000 });
  });

  it('ignores lines that are not valid jobs', () => {
    expect(parseJobLines(parseCommentLines('m\ntotesys-cdc resnapshot {not json\ntotesys-cdc resnapshot {"requestId":"x","table":"nope","state":"running"}'))).toEqual([]);
  });
});

/** A table of keys 1..rows; the session's messages are what `emit` wrote, handed back in order. */
function harness(rows: number, store: ResnapshotJobStore) {
  const emitted: string[] = [];
  const reads: (number | string | null)[] = [];
  const source: ChunkSource = {
    async emit(prefix, content) {
      if (prefix === SNAPSHOT_WINDOW_PREFIX) emitted.push(content);
    },
    async readChunk(_table, keyAfter, limit): Promise<Chunk> {
      reads.push(keyAfter);
      const from = keyAfter === null ? 1 : Number(keyAfter) + 1;
      const keys = Array.from({ length: Math.max(0, Math.min(limit, rows - from + 1)) }, (_, i) => from + i);
      return { columns: [{ attname: 'sales_order_id', atttypid: 23 }], rows: keys.map((k) => [String(k)]), readAt: '2026-12-07T07:00:00.000Z' };
    },
  };
  const reconciles: ReturnType<typeof parseReconcile>[] = [];
  const publisher = {
    enqueueSerialized: (_id: string, _key: string, json: string) => void (json.startsWith('{"kind":"reconcile"') && reconciles.push(parseReconcile(json))),
    flush: async () => {},
  } as unknown as EventPublisher;
  const stats = new CaptureStats('s', 's');
  let lsn = 100n;
  const session = () => new IncrementalSnapshots({ source, stats, logger: silentLogger, chunkRows: 10, jobs: store });
  /** Hands the session every watermark written so far (L, then H: the chunk goes out), `limit` high marks at most. */
  async function stream(snapshots: IncrementalSnapshots, limit = Number.POSITIVE_INFINITY): Promise<void> {
    let highs = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      const content = emitted.shift();
      if (content === undefined) {
        if (!snapshots.busy) return;
        continue;
      }
      const work = snapshots.windowMark(content, (lsn += 10n), publisher);
      if (work) {
        await work;
        if (++highs >= limit) return;
      }
    }
  }
  return { session, stream, reads, reconciles, stats, emitted };
}

function memoryStore(initial: PersistedResnapshot[] = []): ResnapshotJobStore & { jobs: Map<string, PersistedResnapshot> } {
  const jobs = new Map(initial.map((j) => [j.requestId, j]));
  return { jobs, load: async () => [...jobs.values()], save: async (j) => void jobs.set(j.requestId, { ...j }) };
}

describe('a resnapshot job across sessions', () => {
  it('an interrupted job resumes in the next session after its last completed chunk, and its request seen again is not run twice', async () => {
    const store = memoryStore();
    const h = harness(35, store);
    const first = h.session();
    first.requested(resnapshotRequestContent('sales_order', 'req'));
    await h.stream(first, 2); // two chunks complete: keys 1..20
    first.close();
    expect(h.stats.status.resnapshots?.[0]).toMatchObject({ requestId: 'req', state: 'interrupted', chunks: 2 });
    expect(store.jobs.get('req')).toMatchObject({ state: 'running', keyAfter: 20, chunks: 2, rowsRead: 20 });

    h.emitted.length = 0; // the interrupted chunk's watermarks belong to the ended session
    const second = h.session();
    second.requested(resnapshotRequestContent('sales_order', 'req')); // the request read again from the WAL
    await h.stream(second);
    // First session: chunks after null and 10 completed, the one after 20 interrupted; the second resumes after 20.
    expect(h.reads).toEqual([null, 10, 20, 20, 30]);
    expect(h.stats.status.resnapshots?.[0]).toMatchObject({ requestId: 'req', state: 'done', chunks: 4, rowsRead: 35, resumes: 1 });
    expect(store.jobs.get('req')).toMatchObject({ state: 'done', chunks: 4, rowsRead: 35 });
    // The reconciles cover the key space once: (null, 10], (10, 20], then (20, 30], (30, null).
    expect(h.reconciles.map((r) => [r.keyAfter, r.keyTo])).toEqual([[null, 10], [10, 20], [20, 30], [30, null]]);

    const third = h.session();
    third.requested(resnapshotRequestContent('sales_order', 'req'));
    await h.stream(third);
    expect(h.reads).toHaveLength(5); // a finished request is not run again
  });
});
