import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn, sortableLsn } from '../../contracts/lsn.js';

describe('Lsn', () => {
  it('parses and formats the Postgres text form', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('1/0')).toBe(1n << 32n);
    expect(formatLsn(0x1_0000_00ffn)).toBe('1/FF');
  });

  it('rejects what is not an LSN', () => {
    expect(() => parseLsn('16B3748')).toThrow(/not a Postgres LSN/);
    expect(() => parseLsn('0/xyz')).toThrow();
  });

  it('round-trips and orders like the integers it encodes', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }), fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }), (a, b) => {
        expect(parseLsn(formatLsn(a))).toBe(a);
        expect(Math.sign(sortableLsn(a).localeCompare(sortableLsn(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});
