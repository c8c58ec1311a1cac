import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isChangeEventFast, versionSortKey } from '../../contracts/change-event.js';
import { compareVersion, eventVersion, validateChangeEvent } from '../../contracts/change-event.js';
import { sortableLsn } from '../../contracts/lsn.js';
import { generateWorkload } from '../support/archive-workload.js';

const zodAccepts = (value: unknown) => {
  try {
    validateChangeEvent(value);
    return true;
  } catch {
    return false;
  }
};

const samples = generateWorkload(400).map((e) => e.event);
const anyValue = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant({}), fc.constant([]), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant({}))));
const paths = [['v'], ['id'], ['op'], ['table'], ['key'], ['before'], ['after'], ['source'], ['source', 'lsn'], ['source', 'commitLsn'], ['source', 'xid'], ['source', 'commitTs'], ['source', 'snapshot'], ['key', 'sales_order_id'], ['after', 'units_sold']];

describe('fast change-event check', () => {
  it('accepts valid events and is never more permissive than the zod contract', () => {
    for (const event of samples) expect(isChangeEventFast(JSON.parse(JSON.stringify(event)))).toBe(true);
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.constantFrom(...paths), anyValue, fc.boolean(), (index, path, value, remove) => {
        const event = JSON.parse(JSON.stringify(samples[index])) as Record<string, unknown>;
        let target = event;
        for (const part of path.slice(0, -1)) {
          if (target[part] === null || typeof target[part] !== 'object') return;
          target = target[part] as Record<string, unknown>;
        }
        if (remove) delete target[path.at(-1)!];
        else target[path.at(-1)!] = value;
        if (isChangeEventFast(event)) expect(zodAccepts(event)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('sort keys order like compareVersion and equal the BigInt computation', () => {
    for (const event of samples) {
      const version = eventVersion(event);
      expect(versionSortKey(event)).toBe(sortableLsn(version.lsn) + (version.seq + 1).toString(16).toUpperCase().padStart(14, '0') + event.id);
    }
    const sorted = [...samples].sort((a, b) => (versionSortKey(a)! < versionSortKey(b)! ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) expect(compareVersion(eventVersion(sorted[i - 1]!), eventVersion(sorted[i]!))).toBeLessThanOrEqual(0);
    expect(versionSortKey({ id: 'x/abc', source: { ...samples[200]!.source, snapshot: false } })).toBeNull();
    expect(versionSortKey({ id: '0/1/2', source: { ...samples[200]!.source, commitLsn: 'nope' } })).toBeNull();
  });
});
