import { describe, expect, it } from 'vitest';
import { createPrng, poisson } from '../../totesys/prng.js';
import { TokenBucket } from '../../totesys/simulator/token-bucket.js';
import { centsToDecimal, copyChunks, encodeCopyLine } from '../../totesys/generator/copy-text.js';
import { formatTimestamp, isoDayOfWeek } from '../../totesys/source-time.js';
import { planSeed } from '../../totesys/generator/seed-plan.js';
import { countOrders, generateOrders } from '../../totesys/generator/order-stream.js';

describe('totesys prng', () => {
  it('repeats for a seed, differs across seeds and labels, stays in range', () => {
    const draw = (seed: number, label = '') => { const p = createPrng(seed, label); return Array.from({ length: 50 }, () => p.int(1, 6)); };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(1, 'a')).not.toEqual(draw(1, 'b'));
    expect(draw(1).every((n) => n >= 1 && n <= 6)).toBe(true);
    const p = createPrng(3);
    const mean = Array.from({ length: 2000 }, () => poisson(p, 21)).reduce((a, b) => a + b, 0) / 2000;
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(22);
    expect(() => createPrng(1.5)).toThrow(RangeError);
  });
});

describe('token bucket', () => {
  it('allows one change at start, then rate × elapsed, with a bounded burst', () => {
    const bucket = new TokenBucket(10, 2, 0);
    expect(bucket.tryTake(0)).toBe(0);
    expect(bucket.tryTake(0)).toBe(100);
    expect(bucket.tryTake(100)).toBe(0);
    expect(bucket.tryTake(10_000)).toBe(0); // refilled to the burst of 2, not 100
    expect(bucket.tryTake(10_000)).toBe(0);
    expect(bucket.tryTake(10_000)).toBeGreaterThan(0);
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
  });
});

describe('COPY text and timestamps', () => {
  it('escapes what would break a row and encodes NULL, booleans and money', () => {
    expect(encodeCopyLine([1, 'a\tb\\c\nd', null, true, false])).toBe('1\ta\\tb\\\\c\\nd\t\\N\tt\tf\n');
    expect([centsToDecimal(5), centsToDecimal(200), centsToDecimal(123456)]).toEqual(['0.05', '2.00', '1234.56']);
    const chunks = [...copyChunks(Array.from({ length: 1000 }, (_, i) => [i]), 100)];
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.join('').split('\n').length).toBe(1001);
  });
  it('formats UTC wall-clock timestamps with milliseconds', () => {
    expect(formatTimestamp(Date.UTC(2022, 10, 3, 14, 20, 49, 962))).toBe('2022-11-03 14:20:49.962');
    expect(formatTimestamp(Date.UTC(2024, 0, 1, 0, 0, 0, 5))).toBe('2024-01-01 00:00:00.005');
    expect(isoDayOfWeek(Date.UTC(2025, 0, 5))).toBe(7);
  });
});

describe('order stream', () => {
  it('counts match the stream, ids are dense and times ascend on weekdays in business hours', () => {
    const plan = planSeed(0.2);
    const counts = countOrders(5, plan);
    let sales = 0, purchases = 0, tx = 0, last = 0;
    for (const o of generateOrders(5, plan, [0])) {
      if (o.kind === 'sale') expect(o.orderId).toBe(++sales);
      else expect(o.orderId).toBe(++purchases);
      expect(o.transactionId).toBe(++tx);
      expect(o.createdAtMs).toBeGreaterThanOrEqual(last);
      last = o.createdAtMs;
      const hour = new Date(o.createdAtMs).getUTCHours();
      expect(isoDayOfWeek(o.createdAtMs) <= 5 && hour >= 8 && hour < 19).toBe(true);
    }
    expect({ sales, purchases }).toEqual(counts);
    expect(() => planSeed(0)).toThrow(RangeError);
  });
});
