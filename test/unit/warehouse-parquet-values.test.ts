import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import { describe, expect, it } from 'vitest';
import { snappyCompressShared } from '../../parquet/snappy-compress.js';
import { formatDateDays, formatInstantMs, formatMoney, formatTimeMs, parseDateDays, parseInstantMs, parseMoneyCents, parseTimeMs } from '../../parquet/warehouse-values.js';
import { mulberry32 } from '../support/seeded-random.js';

/**
 * The char-code conversions against the Date/RegExp/toFixed expressions they replace. A parser may
 * return NaN (the caller then runs the original code), but a number must be the original's number.
 */
const DAY_MS = 86_400_000;
const random = mulberry32(42);
const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

describe('warehouse value conversions match the Date/RegExp/toFixed originals', () => {
  it('dates: every day of years 0100..9999 sampled, plus every day around the edges', () => {
    const days = [
      ...Array.from({ length: 20_000 }, () => between(-700_000, 2_932_896)),
      ...Array.from({ length: 3000 }, (_, i) => -719_528 - 1500 + i), // years -1 .. 0 .. 8
      ...Array.from({ length: 3000 }, (_, i) => 2_932_896 - 1500 + i), // 9995 .. +10000
      ...Array.from({ length: 800 }, (_, i) => -400 + i),
    ];
    for (const day of days) {
      const iso = new Date(day * DAY_MS).toISOString().slice(0, 10);
      expect(formatDateDays(day)).toBe(iso);
      const parsed = parseDateDays(iso);
      const year = Number(iso.slice(0, 4));
      if (iso.length === 10 && year >= 100) expect(parsed).toBe(day);
      else expect(parsed).toBeNaN(); // the original rejects years 0..99 (Date.UTC maps them to 19xx)
    }
    for (const text of ['2023-02-29', '2024-02-30', '2024-04-31', '2024-00-01', '2024-13-01', '0099-01-01', '2024-1-01', '2024_01-01', 'abcd-ef-gh']) expect(parseDateDays(text)).toBeNaN();
  });

  it('instants: toISOString and Date.parse agree with the fast paths, out-of-range and odd spellings fall back', () => {
    const samples = [
      ...Array.from({ length: 20_000 }, () => between(-62_167_219_200_000, 253_402_300_799_999)),
      ...Array.from({ length: 2000 }, () => between(-8.64e15, 8.64e15)),
      -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, 0, -1, 8.64e15, -8.64e15,
    ];
    for (const ms of samples) {
      const iso = new Date(ms).toISOString();
      expect(formatInstantMs(ms)).toBe(iso);
      const parsed = parseInstantMs(iso);
      if (iso.length === 24) expect(parsed).toBe(ms);
      else expect(parsed).toBeNaN();
    }
    expect(() => formatInstantMs(8.64e15 + 1)).toThrow(RangeError); // as new Date(...).toISOString() does
    for (const text of ['2026-11-22T12:00:00Z', '2026-11-22T24:00:00.000Z', '2026-02-29T00:00:00.000Z', '2026-11-22T12:60:00.000Z', '2026-11-22 12:00:00.000Z', '2026-11-22T12:00:00.000+00:00']) {
      expect(parseInstantMs(text)).toBeNaN();
    }
  });

  it('times: the fast path is the original arithmetic, formatting is the original padding', () => {
    for (let i = 0; i < 20_000; i++) {
      const ms = i < 10_000 ? between(0, 86_399_999) : between(0, 400_000_000);
      const hh = Math.floor(ms / 3_600_000);
      const original = `${String(hh).padStart(2, '0')}:${String(Math.floor(ms / 60_000) % 60).padStart(2, '0')}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
      expect(formatTimeMs(ms)).toBe(original);
      if (hh < 100) expect(parseTimeMs(original)).toBe(ms);
    }
    expect(parseTimeMs('99:99:99.999')).toBe(((99 * 60 + 99) * 60 + 99) * 1000 + 999); // the regex never capped fields
    for (const text of ['12:00:00', '12:00:00.5', '1:00:00.000', '12:00:00,000', '12:00:00.00a']) expect(parseTimeMs(text)).toBeNaN();
  });

  it('money: cents parse exactly, and formatting equals toFixed(2) of what hyparquet hands over', () => {
    for (let i = 0; i < 50_000; i++) {
      const cents = i < 45_000 ? between(-9_999_999_999, 9_999_999_999) : between(-200, 200);
      const decoded = Number(BigInt(cents)) * 10 ** -2; // hyparquet's DECIMAL conversion
      const text = decoded.toFixed(2);
      expect(formatMoney(decoded)).toBe(text);
      expect(parseMoneyCents(text)).toBe(cents === 0 ? 0 : cents);
    }
    expect(Object.is(parseMoneyCents('-0.00'), 0)).toBe(true);
    expect([parseMoneyCents('12'), parseMoneyCents('0.5'), parseMoneyCents('-7.05'), parseMoneyCents('00000001.10')]).toEqual([1200, 50, -705, 110]);
    for (const text of ['', '-', '1.', '.5', '1.234', '123456789', '+1', '1e3', '--1', ' 1']) expect(parseMoneyCents(text)).toBeNaN();
    for (const odd of [-0.001, 1e12, 0.125, NaN]) expect(formatMoney(odd)).toBe(odd.toFixed(2));
  });
});

describe('snappy compressor', () => {
  it('emits exactly the bytes of hyparquet-writer snappyCompress', () => {
    const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array([7]), new Uint8Array(14).fill(1), new Uint8Array(15).fill(1), new Uint8Array(70_000).fill(9)];
    for (let k = 0; k < 300; k++) {
      const size = k < 100 ? between(0, 200) : k < 280 ? between(200, 20_000) : between(60_000, 300_000);
      const alphabet = between(1, 256);
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) {
        // Mix of repeats at short and long distances (copies, 64/60-byte splits, offsets > 2048 and > 65535) and noise (literals).
        const mode = (i >> 9) % 4;
        bytes[i] = mode === 0 ? between(0, alphabet - 1) : mode === 1 && i >= 3 ? bytes[i - 3] : mode === 2 && i >= 3000 ? bytes[i - 3000] : i % alphabet;
      }
      inputs.push(bytes);
    }
    // A literal longer than 16 MiB carries a 4-byte length.
    const noise = new Uint8Array((1 << 24) + 100);
    for (let i = 0; i < noise.length; i += 4) new DataView(noise.buffer).setUint32(i, (random() * 2 ** 32) >>> 0);
    inputs.push(noise);
    for (const input of inputs) {
      const expected = snappyCompress(input);
      const actual = snappyCompressShared(input);
      if (Buffer.compare(expected, actual) !== 0) expect.fail(`snappy output differs for a ${input.length}-byte input`);
    }
  });
});
