import type pg from 'pg';

/**
 * Where a loader's connection spends its time, seen from the client: every statement's span from
 * sending it to its result (a COPY's from its start to its end), grouped by the statement's first
 * words, and how much of the wall time the connection had a statement in flight. A connection busy
 * nearly all the time waits on Postgres (the statements are the floor); one often idle waits on the
 * loader's own work between statements.
 */
export interface StatementSpan {
  startMs: number;
  endMs: number;
  /** The statement's first characters (its kind), a COPY stream's too. */
  kind: string;
}

export interface StatementSummary {
  statements: number;
  /** Time with at least one statement in flight, from `fromMs` to `toMs`. */
  busyMs: number;
  wallMs: number;
  /** Per kind: count and summed span, the largest sum first. */
  byKind: { kind: string; count: number; ms: number }[];
}

const KIND_CHARS = 24;

/** The spans that started in [fromMs, toMs], summarized (spans are clipped to toMs). */
export function summarizeSpans(spans: readonly StatementSpan[], fromMs: number, toMs: number): StatementSummary {
  const within = spans.filter((s) => s.startMs >= fromMs && s.startMs <= toMs).sort((a, b) => a.startMs - b.startMs);
  let busyMs = 0;
  let coveredTo = fromMs;
  const byKind = new Map<string, { count: number; ms: number }>();
  for (const span of within) {
    const end = Math.min(span.endMs, toMs);
    const start = Math.max(span.startMs, coveredTo);
    if (end > start) {
      busyMs += end - start;
      coveredTo = end;
    }
    const entry = byKind.get(span.kind) ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += end - span.startMs;
    byKind.set(span.kind, entry);
  }
  return {
    statements: within.length,
    busyMs,
    wallMs: toMs - fromMs,
    byKind: [...byKind].map(([kind, e]) => ({ kind, ...e })).sort((a, b) => b.ms - a.ms),
  };
}

function kindOf(query: unknown): string {
  const text = typeof query === 'string' ? query : typeof (query as { text?: unknown })?.text === 'string' ? (query as { text: string }).text : '(unnamed)';
  return text.replace(/\s+/g, ' ').trim().slice(0, KIND_CHARS);
}

/**
 * Records the spans of every statement sent on the pool's connections from now on: those whose
 * query returns a promise or a COPY stream, as the loader sends them (a query given a callback
 * returns neither and is not recorded).
 */
export function recordStatements(pool: pg.Pool): { spans: StatementSpan[] } {
  const spans: StatementSpan[] = [];
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const startMs = performance.now();
      const kind = kindOf(args[0]);
      const done = () => spans.push({ startMs, endMs: performance.now(), kind });
      const result = query(...args) as { then?: unknown; once?: unknown } | undefined;
      if (result && typeof result.then === 'function') (result as Promise<unknown>).then(done, done);
      else if (result && typeof result.once === 'function') {
        // A COPY stream (pg-copy-streams): it ends with 'finish' (FROM STDIN) or 'error'.
        const stream = result as { once(event: string, listener: () => void): void };
        stream.once('finish', done);
        stream.once('error', done);
      }
      return result;
    };
  });
  return { spans };
}
