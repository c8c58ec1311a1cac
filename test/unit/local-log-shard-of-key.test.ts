import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shardIndexOfKey, shardIndexOfKeyReference, shardOfHashLimbs } from '../../stream/local-log/shard-of-key.js';

/**
 * The writer's shard mapping (MD5 in plain JS, 32-bit limb arithmetic) must be exactly Kinesis's
 * (MD5 of the UTF-8 key as a 128-bit integer, floor(hash * shards / 2^128)), written here with
 * node:crypto and BigInt: a key that moved shard would break per-key order in an existing log.
 */
describe('local log: shard of a partition key', () => {
  it('equals the node:crypto + BigInt definition for any key and shard count', () => {
    const shards = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 ** 20 + 5 }));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), shards, (key, n) => shardIndexOfKey(key, n) === shardIndexOfKeyReference(key, n)),
      { numRuns: 5000 },
    );
    // Every padding boundary of one and two MD5 blocks (55/56/63/64/119/120 bytes), ASCII and UTF-8.
    for (let length = 0; length <= 140; length++) {
      for (const unit of ['k', 'é', '🚀']) {
        const key = unit.repeat(length);
        for (const n of [1, 2, 3, 4, 7, 1000]) expect(shardIndexOfKey(key, n), `${unit} x ${length} / ${n}`).toBe(shardIndexOfKeyReference(key, n));
      }
    }
  });

  it('maps a 128-bit hash exactly, carries included (limbs near 2^32 and 0)', () => {
    // MD5 outputs where a low limb's carry changes the result are too rare to meet by chance:
    // check the limb arithmetic itself against BigInt, with the boundary limbs generated often.
    const limb = fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff), fc.nat({ max: 0xffffffff }));
    const shards = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 1000, 2 ** 20), fc.integer({ min: 1, max: 2 ** 20 }));
    fc.assert(
      fc.property(limb, limb, limb, limb, shards, (l0, l1, l2, l3, n) => {
        const hash = (BigInt(l0) << 96n) | (BigInt(l1) << 64n) | (BigInt(l2) << 32n) | BigInt(l3);
        return shardOfHashLimbs(l0, l1, l2, l3, n) === Number((hash * BigInt(n)) >> 128n);
      }),
      { numRuns: 20000 },
    );
    // A carry rippling from the lowest limb up to the result: (2^128 - 1) * 3 / 2^128 rounds down to 2.
    expect(shardOfHashLimbs(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 3)).toBe(2);
    expect(shardOfHashLimbs(0x55555555, 0x55555555, 0x55555555, 0x55555556, 3)).toBe(1);
  });

  it('keeps the totesys keys where they are (4 shards, pinned)', () => {
    const keys = ['sales_order:1', 'sales_order:42', 'payment:9', 'address:1', 'staff:20', 'design:470', 'currency:3', 'transaction:15800'];
    const pinned = keys.map((k) => shardIndexOfKeyReference(k, 4));
    expect(keys.map((k) => shardIndexOfKey(k, 4))).toEqual(pinned);
    // All four shards are used by a run of consecutive keys: the mapping spreads load.
    const used = new Set(Array.from({ length: 64 }, (_, i) => shardIndexOfKey(`sales_order:${i}`, 4)));
    expect(used.size).toBe(4);
  });
});
