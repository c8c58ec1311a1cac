import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSortKey, newCanonicalKey, readCanonicalKey } from '../../contracts/change-event.js';
import { lineSortKey } from '../../contracts/change-event.js';
import { generateWorkload } from '../support/archive-workload.js';

/** The key the byte scanner reads, in lineSortKey's string form (null when it declines). */
function keyFromBytes(bytes: Buffer, padding = 0): string | null {
  // Lines are read in place inside bigger chunks: surround the line with bytes it must not see.
  const chunk = Buffer.concat([Buffer.from('x'.repeat(padding)), bytes, Buffer.from('"}}\n{"v":1,"id":"9/9/9"}')]);
  const key = newCanonicalKey();
  if (!readCanonicalKey(chunk, padding, padding + bytes.length, key)) return null;
  const id = chunk.toString('utf8', key.idStart, key.idEnd);
  expect(key.idAscii).toBe(/^[\x00-\x7f]*$/.test(id));
  return formatSortKey(key.lsnHi, key.lsnLo, key.position, id);
}

const samples = generateWorkload(300, { secondsBetweenTransactions: 5 });

describe('canonical line keys read from bytes', () => {
  it('agree with lineSortKey (the regex on the decoded text) on every line, edited or not', () => {
    let given = 0;
    const check = (bytes: Buffer) => {
      const expected = lineSortKey(bytes.toString('utf8'));
      expect(keyFromBytes(bytes, bytes.length % 7), JSON.stringify(bytes.toString('latin1'))).toBe(expected);
      if (expected !== null) given++;
    };
    for (const { text } of samples) check(Buffer.from(text));
    expect(given).toBe(samples.length); // what capture writes takes the fast path

    // Edits that matter to a byte reader: escapes, line terminators after a backslash (which the
    // regex's `.` does not match), multi-byte and invalid UTF-8, odd positions in the id.
    const pieces = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', 'a', '1', '/', '"id":', '"source":', 'true', '\\"', '\r', '\\\r', '\\\u2028', '\\\u2029', '\u2028', 'é', '😀', '\\😀', '\x01', '/-0', '/0x1F', '/1e3', '/ 7', 'FF/', '123456789', '1234567890123456'];
    const piece = fc.oneof(
      fc.constantFrom(...pieces).map((s) => Buffer.from(s)),
      fc.constantFrom(0xe2, 0x80, 0xa8, 0xa9, 0xff, 0xc3, 0xed, 0xa0, 0xf0).map((b) => Buffer.from([b])),
    );
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(piece, { maxLength: 4 })), { minLength: 1, maxLength: 3 }), (index, edits) => {
        let line = Buffer.from(samples[index]!.text);
        for (const [at, remove, insert] of edits) {
          const pos = at % (line.length + 1);
          line = Buffer.concat([line.subarray(0, pos), ...insert, line.subarray(Math.min(line.length, pos + remove))]);
        }
        check(line);
      }),
      { numRuns: 20_000 },
    );
  });

  it('reads the position like versionSortKey does, including unusual number spellings', () => {
    const base = samples.find((s) => !s.event.source.snapshot)!.text;
    for (const position of ['7', '007', '-0', '0x1F', '1e3', '1.0', '+5', ' 7', '9007199254740991', '9007199254740992', 'x', '']) {
      const line = Buffer.from(base.replace(/"id":"([^"]*)\/\d+"/, `"id":"$1/${position}"`));
      expect(keyFromBytes(line), position).toBe(lineSortKey(line.toString('utf8')));
    }
  });
});
