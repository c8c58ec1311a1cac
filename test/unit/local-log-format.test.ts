import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, tableCrc32 } from '../../stream/local-log/crc32.js';
import { decodeFrameAt, encodeFrame, validFrameBytesAt } from '../../stream/local-log/frame-codec.js';
import { decideRetention } from '../../stream/local-log/retention.js';
import { formatSequenceNumber, parseSequenceNumber } from '../../stream/local-log/sequence-number.js';

describe('local log frames', () => {
  it('round-trips records and agrees with zlib crc32', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 256 }), fc.uint8Array({ maxLength: 2000 }), fc.nat({ max: 2 ** 40 }), (key, data, offset) => {
        const frame = encodeFrame({ offset, arrivalMs: 1_700_000_000_123, partitionKey: key, data });
        const result = decodeFrameAt(frame, 0);
        expect(result).toEqual({ kind: 'frame', frameBytes: frame.length, record: { offset, arrivalMs: 1_700_000_000_123, partitionKey: key, data } });
        expect(crc32(data)).toBe(zlibCrc32(data));
        expect(tableCrc32(data)).toBe(zlibCrc32(data));
      }),
      { numRuns: 200 },
    );
  });

  it('reports every proper prefix as incomplete and any flipped byte as invalid', () => {
    const frame = encodeFrame({ offset: 7, arrivalMs: 1, partitionKey: 'sales_order:1', data: new TextEncoder().encode('{"v":1}') });
    for (let n = 0; n < frame.length; n++) expect(decodeFrameAt(frame.subarray(0, n), 0).kind).toBe('incomplete');
    for (let i = 4; i < frame.length; i++) {
      const copy = Buffer.from(frame);
      copy[i] ^= 0x40;
      expect(decodeFrameAt(copy, 0).kind).toBe('invalid');
    }
    expect(decodeFrameAt(Buffer.alloc(64), 0).kind).toBe('invalid'); // zeros after a machine crash
  });

  it('the skip check accepts exactly the frames decodeFrameAt decodes, at the expected offset, whatever the damage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 2 ** 40 }), fc.nat(), fc.nat(), fc.integer({ min: -1, max: 255 }), fc.boolean(), (data, offset, cut, at, value, shifted) => {
        const frame = encodeFrame({ offset, arrivalMs: 1, partitionKey: 'sales_order:1', data });
        const damaged = Buffer.from(frame.subarray(0, frame.length - (cut % 3 === 0 ? cut % frame.length : 0)));
        if (value >= 0) damaged[at % damaged.length] = value;
        const expected = shifted ? offset + 1 : offset;
        const decoded = decodeFrameAt(damaged, 0);
        const valid = decoded.kind === 'frame' && decoded.record.offset === expected ? decoded.frameBytes : 0;
        expect(validFrameBytesAt(damaged, 0, damaged.length, expected)).toBe(valid);
      }),
      { numRuns: 1000 },
    );
  });

  it('formats sequence numbers so string order is numeric order', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        const [sa, sb] = [formatSequenceNumber(a), formatSequenceNumber(b)];
        expect(sa < sb).toBe(a < b);
        expect(parseSequenceNumber(sa)).toBe(a);
      }),
    );
    expect(() => parseSequenceNumber('12a')).toThrow(RangeError);
  });
});

describe('local log retention decision', () => {
  const hour = 3_600_000;
  const policy = { retentionMs: 24 * hour, maxRetentionMs: 7 * 24 * hour };
  const segments = [0, 10, 20].map((base, i) => ({ baseOffset: base, lastOffset: base + 9, lastWriteMs: i * hour }));

  it('deletes consumed segments older than retention, as a prefix only', () => {
    const now = 30 * hour;
    expect(decideRetention(segments, new Map([['a', 29], ['b', 19]]), now, policy).deletable.map((s) => s.baseOffset)).toEqual([0, 10]);
    expect(decideRetention(segments, new Map([['a', 29], ['b', 5]]), now, policy).deletable).toEqual([]);
    expect(decideRetention(segments, new Map([['a', 29]]), 2 * hour, policy).deletable).toEqual([]);
    expect(decideRetention(segments, new Map(), now, policy).deletable).toHaveLength(3);
  });

  it('deletes anything past max retention and names the lagging consumers', () => {
    const decision = decideRetention(segments, new Map([['a', 29], ['slow', -1]]), 8 * 24 * hour, policy);
    expect(decision.deletable).toHaveLength(3);
    expect(decision.expiredUnconsumed.map((e) => e.laggingConsumers)).toEqual([['slow'], ['slow'], ['slow']]);
  });
});
