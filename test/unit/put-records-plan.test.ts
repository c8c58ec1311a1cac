import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, classifyKinesisError, classifyRecordErrorCode } from '../../stream/kinesis/kinesis-errors.js';
import { planPutRecordsCall, settlePutRecordsCall, type PendingRecord } from '../../stream/kinesis/put-records-plan.js';

interface Item extends PendingRecord {
  id: number;
}

describe('PutRecords planning', () => {
  it('never lets a key overtake itself, whatever fails, and stores every record exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 6 }), bytes: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 60 }),
        fc.infiniteStream(fc.boolean()),
        fc.integer({ min: 1, max: 8 }),
        (specs, failures, maxRecords) => {
          let pending: Item[] = specs.map((s, id) => ({ id, partitionKey: `k${s.key}`, bytes: s.bytes }));
          const stored: Item[] = [];
          const failIterator = failures[Symbol.iterator]();
          for (let round = 0; pending.length > 0; round++) {
            expect(round).toBeLessThan(10_000);
            const positions = planPutRecordsCall(pending, { maxRecords, maxBytes: 100 });
            expect(positions.length).toBeGreaterThan(0);
            expect(positions.length).toBeLessThanOrEqual(maxRecords);
            const sent = positions.map((p) => pending[p]);
            expect(new Set(sent.map((r) => r.partitionKey)).size).toBe(sent.length);
            expect(sent.length === 1 || sent.reduce((n, r) => n + r.bytes, 0) <= 100).toBe(true);
            // The stream appends accepted records in call order; failed ones are not stored.
            const accepted = sent.map(() => round % 5 === 4 || !failIterator.next().value);
            sent.forEach((r, i) => accepted[i] && stored.push(r));
            pending = settlePutRecordsCall(pending, positions, accepted);
          }
          expect(stored.map((r) => r.id).sort((a, b) => a - b)).toEqual(specs.map((_, id) => id));
          for (let key = 0; key <= 6; key++) {
            const ids = stored.filter((r) => r.partitionKey === `k${key}`).map((r) => r.id);
            expect(ids).toEqual([...ids].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fills a call with the first record of each key up to 500 records', () => {
    const pending = Array.from({ length: 1200 }, (_, i) => ({ partitionKey: `k${i % 700}`, bytes: 10 }));
    const first = planPutRecordsCall(pending);
    expect(first).toEqual([...Array(500).keys()]);
    const second = planPutRecordsCall(settlePutRecordsCall(pending, first, first.map(() => true)));
    expect(second).toHaveLength(500);
  });

  it('classifies errors and backs off with full jitter', () => {
    expect(classifyKinesisError({ name: 'ProvisionedThroughputExceededException' })).toBe('throttled');
    expect(classifyKinesisError({ name: 'LimitExceededException' })).toBe('throttled');
    expect(classifyKinesisError({ name: 'Whatever', $metadata: { httpStatusCode: 503 } })).toBe('transient');
    expect(classifyKinesisError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('transient');
    expect(classifyKinesisError({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } })).toBe('permanent');
    expect(classifyKinesisError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })).toBe('permanent');
    expect(classifyRecordErrorCode('InternalFailure')).toBe('transient');
    expect(classifyRecordErrorCode('KMSAccessDeniedException')).toBe('permanent');
    expect(backoffDelayMs(3, 100, 5_000, () => 0.999)).toBe(799);
    expect(backoffDelayMs(20, 100, 5_000, () => 0.5)).toBe(2_500);
    expect(backoffDelayMs(2, 100, 5_000, () => 0)).toBe(0);
  });
});
