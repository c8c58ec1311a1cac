import type { ObjectStore } from '../bucket/object-store.js';
import { withoutValues } from '../platform/redact.js';
import type { QuarantineEntry } from '../stream-processors/quarantine.js';

/** One kind of quarantined input: same reason, table, column and message (values elided). */
export interface QuarantineGroup {
  reason: string;
  table: string | null;
  column: string | null;
  /** The error with quoted values and `got …` elided: quarantined input may be personal data. */
  error: string;
  /** Entries of this kind among the newest `detailLimit` read. */
  count: number;
  newestDate: string | null;
}

export interface LocalQuarantineSummary {
  /** Objects under quarantine/ (counted up to `limit`). */
  objects: number;
  limited: boolean;
  newestDate: string | null;
  /** The newest entries (up to `detailLimit`) grouped by kind, most frequent first. */
  groups: QuarantineGroup[];
}

/**
 * Reads the quarantine of the processed bucket (`quarantine/date=YYYY-MM-DD/<hash>.json`, written by
 * stream-processors/quarantine.ts) for `status`: how many entries, and what they are about. Keys
 * sort by date partition, so the last keys listed are the newest dates; only those are opened.
 */
export async function summariseLocalQuarantine(
  processed: ObjectStore,
  options: { prefix?: string; limit?: number; detailLimit?: number } = {},
): Promise<LocalQuarantineSummary> {
  const limit = options.limit ?? 100_000;
  const detailLimit = options.detailLimit ?? 200;
  let objects = 0;
  let limited = false;
  const newestKeys: string[] = [];
  for await (const object of processed.list(`${options.prefix ?? ''}quarantine/`)) {
    if (!object.key.endsWith('.json')) continue;
    newestKeys.push(object.key);
    if (newestKeys.length > detailLimit) newestKeys.shift();
    if (++objects >= limit) {
      limited = true;
      break;
    }
  }
  const groups = new Map<string, QuarantineGroup>();
  let newestDate: string | null = null;
  // Read a few at a time (in S3 each is a round trip), then grouped in key order.
  const briefs: Brief[] = new Array(newestKeys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(BRIEF_READS_AT_ONCE, newestKeys.length) }, async () => {
      while (next < newestKeys.length) {
        const i = next++;
        briefs[i] = await readBrief(processed, newestKeys[i]!);
      }
    }),
  );
  for (const [i, key] of newestKeys.entries()) {
    const date = dateOfKey(key);
    if (date && (!newestDate || date > newestDate)) newestDate = date;
    const brief = briefs[i]!;
    const id = `${brief.reason}\u0000${brief.table}\u0000${brief.column}\u0000${brief.error}`;
    const group = groups.get(id);
    if (group) {
      group.count++;
      if (date && (!group.newestDate || date > group.newestDate)) group.newestDate = date;
    } else groups.set(id, { ...brief, count: 1, newestDate: date });
  }
  return { objects, limited, newestDate, groups: [...groups.values()].sort((a, b) => b.count - a.count) };
}

function dateOfKey(key: string): string | null {
  return /date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? null;
}

type Brief = Omit<QuarantineGroup, 'count' | 'newestDate'>;

const BRIEF_READS_AT_ONCE = 8;

async function readBrief(processed: ObjectStore, key: string): Promise<Brief> {
  let entry: Partial<QuarantineEntry>;
  try {
    entry = JSON.parse(Buffer.from(await processed.get(key)).toString('utf8')) as Partial<QuarantineEntry>;
  } catch {
    return { reason: 'unreadable', table: null, column: null, error: `quarantine object ${key} is not JSON` };
  }
  const error = typeof entry.error === 'string' ? entry.error : '';
  // Transform errors read `<table>.<column>: expected …` (stream-processors/transform/source-values.ts).
  const named = /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_.]*):/.exec(error);
  return {
    reason: typeof entry.reason === 'string' ? entry.reason : 'unknown',
    table: named?.[1] ?? tableOfRecord(entry),
    column: named?.[2] ?? null,
    error: withoutValues(error),
  };
}

function tableOfRecord(entry: Partial<QuarantineEntry>): string | null {
  if (entry.recordEncoding !== 'utf8' || typeof entry.record !== 'string') return null;
  try {
    const table = (JSON.parse(entry.record) as { table?: unknown }).table;
    return typeof table === 'string' ? table : null;
  } catch {
    return null;
  }
}
