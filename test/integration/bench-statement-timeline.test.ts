import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordStatements, summarizeSpans } from '../../bench/statement-timeline.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

describe('bench statement timeline (bench:catchup BENCH_RELOAD_TRACE)', () => {
  it('counts time with a statement in flight once, however spans overlap, and sums each kind', () => {
    const summary = summarizeSpans(
      [
        { startMs: 10, endMs: 30, kind: 'COPY' },
        { startMs: 20, endMs: 40, kind: 'SELECT 1' }, // overlaps the COPY by 10 ms
        { startMs: 60, endMs: 70, kind: 'COPY' },
        { startMs: 95, endMs: 120, kind: 'COMMIT' }, // clipped at the end
        { startMs: 5, endMs: 8, kind: 'BEGIN' }, // before the window
      ],
      10,
      100,
    );
    expect(summary).toEqual({
      statements: 4,
      busyMs: 30 + 10 + 5,
      wallMs: 90,
      byKind: [
        { kind: 'COPY', count: 2, ms: 30 },
        { kind: 'SELECT 1', count: 1, ms: 20 },
        { kind: 'COMMIT', count: 1, ms: 5 },
      ],
    });
  });

  describe('on a pool of a real database', () => {
    let db: TestDatabase;
    let pool: pg.Pool;
    beforeAll(async () => {
      db = await createTestDatabase('bench_timeline');
      pool = new pg.Pool({ connectionString: db.url, max: 1 });
    });
    afterAll(async () => {
      await pool.end();
      await db.drop();
    });

    it('records each statement a connection runs, a COPY stream from its start to its end', async () => {
      const recorded = recordStatements(pool);
      const started = performance.now();
      const client = await pool.connect();
      try {
        await client.query('CREATE TEMP TABLE t (n int)');
        await client.query({ text: 'SELECT pg_sleep($1)', values: [0.05] });
        const copy = client.query(copyFrom('COPY t FROM STDIN'));
        await new Promise<void>((resolve, reject) => {
          copy.once('finish', resolve);
          copy.once('error', reject);
          copy.end('1\n2\n');
        });
      } finally {
        client.release();
      }
      await new Promise((r) => setImmediate(r)); // the recorder's listeners run after the caller's
      const summary = summarizeSpans(recorded.spans, started, performance.now());
      expect(summary.byKind.map((k) => k.kind).sort()).toEqual(['COPY t FROM STDIN', 'CREATE TEMP TABLE t (n i', 'SELECT pg_sleep($1)']);
      expect(summary.byKind.every((k) => k.count === 1)).toBe(true);
      expect(summary.byKind[0]!.kind, 'the longest first').toBe('SELECT pg_sleep($1)');
      expect(summary.byKind[0]!.ms).toBeGreaterThanOrEqual(45);
      expect(summary.busyMs).toBeLessThanOrEqual(summary.wallMs);
    });
  });
});
