import type { ObjectStore } from '../../bucket/object-store.js';
import type { QuarantineSummary } from './aws-status.js';

/** Counts quarantined records in the processed bucket (`<prefix>quarantine/date=YYYY-MM-DD/...`), bounded. */
export async function summariseQuarantine(processed: ObjectStore, options: { prefix?: string; limit?: number } = {}): Promise<QuarantineSummary> {
  const limit = options.limit ?? 10_000;
  let objects = 0;
  let newestDate: string | null = null;
  for await (const object of processed.list(`${options.prefix ?? ''}quarantine/`)) {
    const date = /date=(\d{4}-\d{2}-\d{2})\//.exec(object.key)?.[1] ?? null;
    if (date && (!newestDate || date > newestDate)) newestDate = date;
    if (++objects >= limit) return { objects, limited: true, newestDate };
  }
  return { objects, limited: false, newestDate };
}
