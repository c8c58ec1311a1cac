import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame, type FrameRecord } from '../../stream/local-log/frame-codec.js';
import { SegmentReader } from '../../stream/local-log/segment-reader.js';

/**
 * The segment reader hands out each record's data as a view of the chunk it read, not a copy
 * (segment-reader.ts): records must keep their bytes however many reads follow, at a growing tail
 * too, and whichever way they were taken (buffered or read).
 */
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segment-reader-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Distinct bytes per record (so a record overwritten by a later read is told apart). */
function dataOf(offset: number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (offset * 31 + i * 7) & 0xff;
  return data;
}

async function readAll(reader: SegmentReader, into: FrameRecord[]): Promise<void> {
  for (;;) {
    let record = reader.nextRecordBuffered();
    if (!record) {
      const result = await reader.next();
      if (result.kind !== 'frame') return;
      record = result.record;
    }
    into.push(record);
  }
}

describe('local log segment reader', () => {
  it('keeps every record handed out intact across later reads, at a growing tail and for frames larger than a chunk', async () => {
    const file = path.join(dir, '0.seg');
    const sizes = (from: number, count: number) => Array.from({ length: count }, (_, i) => ((from + i) % 97 === 0 ? 300_000 : 700 + ((from + i) % 13) * 50));
    const frames = (from: number, count: number) => sizes(from, count).map((bytes, i) => encodeFrame({ offset: from + i, arrivalMs: 1, partitionKey: `k${from + i}`, data: dataOf(from + i, bytes) }));
    await fs.writeFile(file, Buffer.concat(frames(0, 1_000)));
    // A torn frame at the tail: the writer is mid-append.
    const next = frames(1_000, 1_000);
    const torn = next[0]!.subarray(0, 10);
    await fs.appendFile(file, torn);
    const handle = await fs.open(file, 'r');
    try {
      const reader = new SegmentReader(handle, 0);
      const records: FrameRecord[] = [];
      await readAll(reader, records);
      expect(records).toHaveLength(1_000);
      // Polls at the tail find nothing new, then the writer completes the frame and appends more.
      expect((await reader.next()).kind).toBe('incomplete');
      expect((await reader.next()).kind).toBe('incomplete');
      await fs.appendFile(file, Buffer.concat([next[0]!.subarray(10), ...next.slice(1)]));
      await readAll(reader, records);
      expect(records).toHaveLength(2_000);
      records.forEach((record, offset) => {
        expect(record.offset).toBe(offset);
        expect(record.partitionKey).toBe(`k${offset}`);
        expect(Buffer.from(record.data).equals(Buffer.from(dataOf(offset, record.data.length))), `record ${offset}`).toBe(true);
      });
    } finally {
      await handle.close();
    }
  });
});
