import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrameAt, encodeFrame, frameBytesAt, frameRecordAt } from '../../stream/local-log/frame-codec.js';

/**
 * frameRecordAt (the readers' hot path: no result object, the partition key decoded when read) finds
 * exactly the frames decodeFrameAt decodes, with the same record, whatever the damage.
 */
describe('frameRecordAt', () => {
  it('gives decodeFrameAt\'s record for every frame it decodes, and nothing otherwise', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat({ max: 2 ** 40 }),
        fc.nat({ max: 40 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: -1, max: 255 }),
        (key, data, offset, padding, cut, at, value) => {
          const frame = encodeFrame({ offset, arrivalMs: 1_700_000_000_123.5, partitionKey: key, data });
          // The frame somewhere in a larger chunk, possibly cut short or with a byte changed.
          const chunk = Buffer.concat([Buffer.alloc(padding, 7), frame, Buffer.alloc(5, 9)]);
          const end = padding + frame.length + 5 - (cut % 4 === 0 ? cut % (frame.length + 5) : 0);
          if (value >= 0) chunk[padding + (at % frame.length)] = value;
          const decoded = decodeFrameAt(chunk, padding, end, false);
          const record = frameRecordAt(chunk, padding, end);
          if (decoded.kind !== 'frame') {
            expect(record).toBeUndefined();
            return;
          }
          expect(record).toBeDefined();
          expect({ offset: record!.offset, arrivalMs: record!.arrivalMs, partitionKey: record!.partitionKey, data: record!.data }).toEqual(decoded.record);
          expect(frameBytesAt(chunk, padding)).toBe(decoded.frameBytes);
          // A view of the chunk, as decodeFrameAt's without copyData.
          expect(record!.data.buffer).toBe(chunk.buffer);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decodes a key that is not ASCII', () => {
    const frame = encodeFrame({ offset: 3, arrivalMs: 1, partitionKey: 'staff:Zoë 🙂', data: Buffer.from('{}') });
    expect(frameRecordAt(frame, 0, frame.length)?.partitionKey).toBe('staff:Zoë 🙂');
  });
});
