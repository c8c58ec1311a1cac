import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isReconcileRecordFast, parseReconcileFast } from '../../contracts/reconcile-fast-path.js';
import { parseReconcile, serializeReconcile } from '../../contracts/reconcile.js';

/** parseReconcile's outcome as comparable text: the record's JSON, or the error's class and message. */
function outcome(parse: (data: Uint8Array | string) => unknown, data: Uint8Array | string): string {
  try {
    return `ok ${JSON.stringify(parse(data))}`;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

const valid = [
  serializeReconcile({ id: 'snapshot/address/0/57BEE60/0', table: 'address', lsn: '0/57BEE60', seq: -1, commitTs: '2026-12-07T18:11:52.235Z', reason: 'snapshot', keyAfter: null, keyTo: 30, keys: [1, 2, 3, 30], shards: ['shardId-000000000000', 'shardId-000000000001'] }),
  serializeReconcile({ id: 'truncate/payment/16/B3D8/0', table: 'payment', lsn: '16/B3D8', seq: 4, commitTs: '2026-12-07T18:11:52.235Z', reason: 'truncate', keyAfter: null, keyTo: null, keys: [], shards: null }),
  serializeReconcile({ id: 'r', table: 'staff', lsn: 'FFFFFFFF/0', seq: 0, commitTs: '2026-12-07', reason: 'resnapshot', keyAfter: 'a', keyTo: 'zz', keys: ['b', 'c'], shards: ['s'] }),
];
const members = ['kind', 'v', 'id', 'table', 'lsn', 'seq', 'commitTs', 'reason', 'keyAfter', 'keyTo', 'keys', 'shards'];
/** Values each member is set to: valid, invalid and edge ones for every member's type. */
const anyValue = fc.oneof(
  fc.constantFrom(null, '', 'reconcile', 'address', 'nope', '0/1', '0/1a', '123456789/0', 'snapshot', 'truncate', '2026-12-07T18:11:52.235Z', 'x', 1, 2, 3, -1, -2, 0, 1.5, 2 ** 53, -(2 ** 53), 1e300, true, false, {}, [], [1], [''], ['s'], [null], [1.5], ['a', 2], [2 ** 53]),
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null)), { maxLength: 4 }),
);

describe('reconcile fast path', () => {
  it('returns what parseReconcile returns for every record capture writes', () => {
    for (const text of valid) {
      expect(isReconcileRecordFast(JSON.parse(text))).toBe(true);
      expect(outcome(parseReconcileFast, text)).toBe(outcome(parseReconcile, text));
      expect(outcome(parseReconcileFast, Buffer.from(text))).toBe(outcome(parseReconcile, text));
    }
  });

  it('has parseReconcile outcome for damaged records: a member changed, removed, added or moved', () => {
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.constantFrom(...members, 'extra', '__proto__'), anyValue, fc.constantFrom('set', 'remove', 'move-last'), (index, member, value, how) => {
        const record = JSON.parse(valid[index]!) as Record<string, unknown>;
        if (how === 'remove') delete record[member];
        else if (how === 'move-last') {
          const kept = record[member];
          delete record[member];
          record[member] = kept === undefined ? value : kept;
        } else record[member] = value;
        const text = JSON.stringify(record);
        const fast = outcome(parseReconcileFast, text);
        expect(fast).toBe(outcome(parseReconcile, text));
        // Accepted by the fast check only when zod returns it unchanged (the same JSON text).
        if (isReconcileRecordFast(JSON.parse(text))) expect(fast).toBe(`ok ${text}`);
      }),
      { numRuns: 4000 },
    );
  });

  it('has parseReconcile outcome for bytes that are not one JSON record', () => {
    const texts = ['', '{', 'null', '[]', '{"kind":"reconcile"}', `${valid[0]} x`, valid[0]!.replace('"keys":[', '"keys":[1,'), valid[0]!.replace('"__proto__"', 'x')];
    for (const text of texts) expect(outcome(parseReconcileFast, text)).toBe(outcome(parseReconcile, text));
    // Malformed UTF-8 inside a string: both decode it the same way (replaced), and agree.
    const bytes = Buffer.concat([Buffer.from(valid[2]!.slice(0, valid[2]!.indexOf('"r"') + 2)), Buffer.from([0xff]), Buffer.from(valid[2]!.slice(valid[2]!.indexOf('"r"') + 2))]);
    expect(outcome(parseReconcileFast, bytes)).toBe(outcome(parseReconcile, bytes));
    expect(outcome(parseReconcileFast, bytes)).toMatch(/^ok /);
    // A view into a larger buffer reads its own bytes only.
    const padded = Buffer.from(`xx${valid[1]}yy`);
    expect(outcome(parseReconcileFast, padded.subarray(2, padded.length - 2))).toBe(outcome(parseReconcile, valid[1]!));
  });
});
