/**
 * Pure comparison of what the oracle expects with what the warehouse holds, as a list of
 * differences a person can act on: which table, which key, expected versus got.
 */
export interface Difference {
  table: string;
  key: string;
  expected: string;
  got: string;
  /** For fact versions: what kind of difference (see classifyVersions). */
  kind?: VersionDifferenceKind;
}

const NONE = '(none)';

/**
 * Two sets of rows in the expected-star-schema form (JSON text arrays, key first), compared by key:
 * a key on one side only, or whose rows differ, is one difference; equal duplicates of a row count.
 */
export function diffKeyedRows(table: string, expected: readonly string[], actual: readonly string[]): Difference[] {
  const want = groupByKey(expected);
  const have = groupByKey(actual);
  const out: Difference[] = [];
  for (const key of sortedKeys([...want.keys(), ...have.keys()])) {
    const a = (want.get(key) ?? []).sort();
    const b = (have.get(key) ?? []).sort();
    if (a.length === b.length && a.every((row, i) => row === b[i])) continue;
    out.push({ table, key, expected: a.join(' ; ') || NONE, got: b.join(' ; ') || NONE });
  }
  return out;
}

/**
 * Fact versions per source id ("r,u,d": ops in commit order): an id whose sequence differs is a
 * difference that shows both sequences with their counts, e.g. expected "r,u (2)" got "r,r,u (3)".
 */
export function diffVersions(table: string, expected: ReadonlyMap<number, string>, actual: ReadonlyMap<number, string>): Difference[] {
  const out: Difference[] = [];
  const ids = [...new Set([...expected.keys(), ...actual.keys()])].sort((a, b) => a - b);
  for (const id of ids) {
    const want = expected.get(id);
    const got = actual.get(id);
    if (want === got) continue;
    out.push({ table, key: String(id), expected: describeVersions(want), got: describeVersions(got), kind: classifyVersions(want, got) });
  }
  return out;
}

export function versionCount(ops: string | undefined): number {
  return ops ? ops.split(',').length : 0;
}

function describeVersions(ops: string | undefined): string {
  return ops ? `${ops} (${versionCount(ops)})` : `${NONE} (0)`;
}

function groupByKey(rows: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const row of rows) {
    const key = keyOf(row);
    out.set(key, [...(out.get(key) ?? []), row]);
  }
  return out;
}

function keyOf(row: string): string {
  try {
    const parsed = JSON.parse(row) as unknown;
    return Array.isArray(parsed) ? String(parsed[0]) : row;
  } catch {
    return row;
  }
}

function sortedKeys(keys: string[]): string[] {
  return [...new Set(keys)].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
}

/** The first `limit` differences as lines, and how many more there were. */
export function formatDifferences(differences: readonly Difference[], limit = 10): string[] {
  const lines = differences.slice(0, limit).map((d) => `  ${d.table} key ${d.key}: expected ${d.expected}, got ${d.got}`);
  if (differences.length > limit) lines.push(`  ... and ${differences.length - limit} more`);
  return lines;
}

/**
 * What kind of version difference this is, so a run's failures read as causes: extra `r` versions
 * only (a snapshot sent rows the warehouse already had), versions missing only (lost changes),
 * extra streamed versions only (duplicated changes), the same versions in another order, or mixed.
 */
export type VersionDifferenceKind = 'extra-r' | 'missing' | 'extra-change' | 'reordered' | 'mixed';

export function classifyVersions(expected: string | undefined, got: string | undefined): VersionDifferenceKind {
  const want = expected ? expected.split(',') : [];
  const have = got ? got.split(',') : [];
  const extra = [...have];
  const missing: string[] = [];
  for (const op of want) {
    const at = extra.indexOf(op);
    if (at === -1) missing.push(op);
    else extra.splice(at, 1);
  }
  if (missing.length === 0 && extra.length === 0) return 'reordered';
  if (missing.length === 0) return extra.every((op) => op === 'r') ? 'extra-r' : 'extra-change';
  return extra.length === 0 ? 'missing' : 'mixed';
}

/** Differences counted per table (and kind), e.g. "fact_payment versions extra-r 4092, dim_staff 1". */
export function summarizeDifferences(differences: readonly Difference[]): string {
  const byTable = new Map<string, number>();
  for (const d of differences) {
    const label = d.kind ? `${d.table} ${d.kind}` : d.table;
    byTable.set(label, (byTable.get(label) ?? 0) + 1);
  }
  return [...byTable].map(([table, n]) => `${table} ${n}`).join(', ');
}
