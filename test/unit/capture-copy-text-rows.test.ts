import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CopyTextRowParser, unescapeCopyText } from '../../capture/snapshot/copy-text-rows.js';

/**
 * The snapshot's reader of `COPY … TO STDOUT` text (capture/snapshot/copy-text-rows.ts). The
 * reference encoder below is PostgreSQL's text format as its documentation states it (COPY, "Text
 * Format"): NULL as `\N`, backslash, and the control characters b f n r t v escaped. The
 * integration test snapshot-copy-read.test.ts checks the parser against Postgres's own output.
 */
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
const encodeField = (value: string | null) => (value === null ? '\\N' : value.replace(/[\\\b\f\n\r\t\v]/g, (c) => ESCAPED[c]!));
const encodeRows = (rows: (string | null)[][]) => Buffer.from(rows.map((row) => `${row.map(encodeField).join('\t')}\n`).join(''), 'utf8');

/** Feeds `bytes` cut at `cuts` (byte offsets, anywhere: inside a row, an escape, a UTF-8 character). */
function parse(columns: number, bytes: Buffer, cuts: number[]): (string | null)[][] {
  const parser = new CopyTextRowParser(columns);
  const rows: (string | null)[][] = [];
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b).concat(bytes.length)) {
    rows.push(...parser.push(bytes.subarray(from, cut)));
    from = cut;
  }
  parser.end();
  return rows;
}

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom('', 'N', '\\N', '\\', '\t', '\n', '\r\n', 'a\\tb', '£5', '€', '😀') },
  // What a text column can hold: any character but NUL, as valid UTF-16 (no lone surrogates).
  { weight: 4, arbitrary: fc.string({ unit: 'binary' }).filter((s) => !s.includes('\u0000') && Buffer.from(s, 'utf8').toString('utf8') === s) },
);

describe('capture: COPY text rows', () => {
  it('reads back every row the text format encodes, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((columns) => fc.tuple(fc.constant(columns), fc.array(fc.array(value, { minLength: columns, maxLength: columns }), { maxLength: 20 }))),
        fc.array(fc.nat(), { maxLength: 12 }),
        ([columns, rows], cutSeeds) => {
          const bytes = encodeRows(rows);
          const cuts = cutSeeds.map((seed) => (bytes.length > 0 ? seed % bytes.length : 0));
          expect(parse(columns, bytes, cuts)).toEqual(rows);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('tells NULL from the string "\\N" and from an empty string', () => {
    const bytes = Buffer.from('\\N\t\\\\N\t\n', 'utf8');
    expect(parse(3, bytes, [1, 2, 3])).toEqual([[null, '\\N', '']]);
  });

  it('refuses a row of the wrong width, an escape COPY TO never writes, and data that ends inside a row', () => {
    expect(() => parse(2, Buffer.from('a\tb\tc\n'), [])).toThrow(/more than the 2 columns/);
    expect(() => parse(3, Buffer.from('a\tb\n'), [])).toThrow(/2 columns, 3 expected/);
    expect(() => parse(1, Buffer.from('\\101\n'), [])).toThrow(/unexpected escape/);
    expect(() => parse(1, Buffer.from('a\nb'), [])).toThrow(/ended inside a row/);
    expect(unescapeCopyText('a\\\\b\\nc\\td')).toBe('a\\b\nc\td');
  });
});
