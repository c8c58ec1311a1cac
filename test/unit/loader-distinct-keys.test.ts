import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayParameter } from '../../loader/array-parameter.js';
import { distinctKeys } from '../../loader/distinct-keys.js';

/** The dimension keys a fact file references (loader/distinct-keys.ts), and how they are sent (loader/array-parameter.ts). */
describe('loader: distinct keys of a fact file', () => {
  const sorted = (keys: unknown[]) => [...keys].sort((a, b) => String(a).localeCompare(String(b)));

  it('every non-null value of the columns once, whatever their kind and spread (property, against a Set)', () => {
    const key = fc.oneof(fc.integer({ min: -50, max: 200 }), fc.constantFrom(null, 2_000_000_000, -7, '2023-01-02', '2023-01-03'), fc.integer());
    fc.assert(
      fc.property(fc.array(fc.record({ a: key, b: key }), { maxLength: 60 }), fc.constantFrom(['a'], ['a', 'b']), (rows, columns) => {
        const expected = new Set(rows.flatMap((row) => columns.map((c) => row[c as 'a' | 'b'])).filter((k) => k !== null));
        const keys = distinctKeys(rows, columns);
        expect(keys).toHaveLength(expected.size);
        expect(sorted(keys)).toEqual(sorted([...expected]));
      }),
      { numRuns: 500, seed: 17 },
    );
  });

  it('integer keys close together (the bit set): duplicates across rows and columns dropped', () => {
    const rows = [{ t: 10, u: 12 }, { t: 11, u: 10 }, { t: 10, u: null }, { t: 43, u: 42 }];
    expect(distinctKeys(rows, ['t', 'u']).sort((a, b) => Number(a) - Number(b))).toEqual([10, 11, 12, 42, 43]);
  });

  it('sends all-integer arrays as one array literal, anything else as it is', () => {
    expect(arrayParameter([3, 1, -2])).toBe('{3,1,-2}');
    expect(arrayParameter([])).toBe('{}');
    const dates = ['2023-01-02'];
    expect(arrayParameter(dates)).toBe(dates);
    const mixed = [1, 1.5];
    expect(arrayParameter(mixed)).toBe(mixed);
    expect(arrayParameter([2 ** 60])).toEqual([2 ** 60]);
  });
});
