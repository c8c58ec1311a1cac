import { crc32 } from './crc32.js';

/**
 * On-disk frame of one record in a segment file (all integers big-endian):
 *
 *   u32 bodyLength | u32 crc32(body) | body
 *   body = u64 offset | f64 arrivalMs | u16 keyLength | key (UTF-8) | data
 *
 * The length lets a reader skip whole frames; the CRC lets it tell a complete frame from a torn one
 * (a process killed mid-write leaves a prefix of a frame, or zeros after a crash of the machine).
 * The offset inside the body cross-checks that a reader is where it believes it is.
 */
const FRAME_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 8 + 8 + 2;
/** Same limit as Kinesis (data + partition key ≤ 1 MiB), so local runs catch what AWS would refuse. */
export const MAX_RECORD_BYTES = 1024 * 1024;
export const MAX_PARTITION_KEY_CHARS = 256;
const MAX_BODY_BYTES = BODY_FIXED_BYTES + MAX_RECORD_BYTES;

export interface FrameRecord {
  offset: number;
  arrivalMs: number;
  partitionKey: string;
  data: Uint8Array;
}

export function encodedFrameBytes(keyBytes: number, dataBytes: number): number {
  return FRAME_HEADER_BYTES + BODY_FIXED_BYTES + keyBytes + dataBytes;
}

/** Writes the frame of `record` into `target` at `position`; returns the position after it. */
function encodeFrameInto(target: Buffer, position: number, record: { offset: number; arrivalMs: number; key: Buffer; data: Uint8Array }): number {
  const bodyStart = position + FRAME_HEADER_BYTES;
  const bodyLength = BODY_FIXED_BYTES + record.key.length + record.data.length;
  writeFixedFields(target, position, bodyLength, record.offset, record.arrivalMs, record.key.length);
  record.key.copy(target, bodyStart + BODY_FIXED_BYTES);
  target.set(record.data, bodyStart + BODY_FIXED_BYTES + record.key.length);
  const end = bodyStart + bodyLength;
  target.writeUInt32BE(crc32(target, bodyStart, end), position + 4);
  return end;
}

/**
 * encodeFrameInto with the partition key as text, written straight into `target` (the writer's
 * hot path: no Buffer per key). `keyBytes` must be Buffer.byteLength(key, 'utf8').
 */
export function encodeFrameWithKeyText(target: Buffer, position: number, offset: number, arrivalMs: number, key: string, keyBytes: number, data: Uint8Array): number {
  const bodyStart = position + FRAME_HEADER_BYTES;
  const bodyLength = BODY_FIXED_BYTES + keyBytes + data.length;
  writeFixedFields(target, position, bodyLength, offset, arrivalMs, keyBytes);
  const keyStart = bodyStart + BODY_FIXED_BYTES;
  // As many UTF-8 bytes as UTF-16 units only when every character is ASCII: latin1 writes the same bytes.
  target.write(key, keyStart, keyBytes, keyBytes === key.length ? 'latin1' : 'utf8');
  target.set(data, keyStart + keyBytes);
  const end = bodyStart + bodyLength;
  target.writeUInt32BE(crc32(target, bodyStart, end), position + 4);
  return end;
}

function writeFixedFields(target: Buffer, position: number, bodyLength: number, offset: number, arrivalMs: number, keyBytes: number): void {
  const bodyStart = position + FRAME_HEADER_BYTES;
  target.writeUInt32BE(bodyLength, position);
  // u64 offset as two u32 halves (offsets are safe integers): no BigInt per record.
  target.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), bodyStart);
  target.writeUInt32BE(offset >>> 0, bodyStart + 4);
  target.writeDoubleBE(arrivalMs, bodyStart + 8);
  target.writeUInt16BE(keyBytes, bodyStart + 16);
}

export function encodeFrame(record: { offset: number; arrivalMs: number; partitionKey: string; data: Uint8Array }): Buffer {
  const key = Buffer.from(record.partitionKey, 'utf8');
  const buffer = Buffer.allocUnsafe(encodedFrameBytes(key.length, record.data.length));
  encodeFrameInto(buffer, 0, { ...record, key });
  return buffer;
}

export type DecodeResult =
  | { kind: 'frame'; record: FrameRecord; frameBytes: number }
  /** Not enough bytes yet: `neededBytes` is the whole frame's size when the header is readable. */
  | { kind: 'incomplete'; neededBytes: number }
  /** Bytes that are not a valid frame: a torn write, or garbage. */
  | { kind: 'invalid'; reason: string };

/**
 * Decodes the frame starting at `position` of `buffer` (which ends at `end`). Copies nothing but
 * `data`, and that only when `copyData` (the default): without it `data` is a view of `buffer`,
 * for a reader that never writes into that buffer again (segment-reader.ts).
 */
export function decodeFrameAt(buffer: Buffer, position: number, end = buffer.length, copyData = true): DecodeResult {
  const available = end - position;
  if (available < FRAME_HEADER_BYTES) return { kind: 'incomplete', neededBytes: FRAME_HEADER_BYTES };
  const bodyLength = buffer.readUInt32BE(position);
  if (bodyLength < BODY_FIXED_BYTES || bodyLength > MAX_BODY_BYTES) return { kind: 'invalid', reason: `bad frame length ${bodyLength}` };
  const frameBytes = FRAME_HEADER_BYTES + bodyLength;
  if (available < frameBytes) return { kind: 'incomplete', neededBytes: frameBytes };
  const bodyStart = position + FRAME_HEADER_BYTES;
  const bodyEnd = bodyStart + bodyLength;
  if (crc32(buffer, bodyStart, bodyEnd) !== buffer.readUInt32BE(position + 4)) return { kind: 'invalid', reason: 'CRC mismatch' };
  const offset = frameOffsetAt(buffer, bodyStart);
  const arrivalMs = buffer.readDoubleBE(bodyStart + 8);
  const keyLength = buffer.readUInt16BE(bodyStart + 16);
  const keyStart = bodyStart + BODY_FIXED_BYTES;
  if (keyStart + keyLength > bodyEnd) return { kind: 'invalid', reason: 'key longer than frame' };
  const partitionKey = buffer.toString('utf8', keyStart, keyStart + keyLength);
  const data = copyData ? new Uint8Array(buffer.subarray(keyStart + keyLength, bodyEnd)) : buffer.subarray(keyStart + keyLength, bodyEnd);
  return { kind: 'frame', record: { offset, arrivalMs, partitionKey, data }, frameBytes };
}

/**
 * The record of a frame read from a chunk its reader never writes again (segment-reader.ts): `data`
 * is a view of the chunk, and the partition key is decoded from the chunk only when it is read. The
 * local log's consumers (the stream processor, the archiver) never read it, and a string made per
 * record was a tenth of reading the log.
 */
class ChunkFrameRecord implements FrameRecord {
  constructor(
    readonly offset: number,
    readonly arrivalMs: number,
    readonly data: Uint8Array,
    private readonly chunk: Buffer,
    private readonly keyStart: number,
    private readonly keyEnd: number,
  ) {}

  get partitionKey(): string {
    return this.chunk.toString('utf8', this.keyStart, this.keyEnd);
  }
}

/**
 * decodeFrameAt's record (with `copyData` false) when it finds a frame, else undefined (then
 * decodeFrameAt says what is there): the same checks (checkedFrameBytesAt), with no result object
 * around the record and no key text (ChunkFrameRecord). The readers' path for every record after
 * the first of a chunk.
 */
export function frameRecordAt(buffer: Buffer, position: number, end: number): FrameRecord | undefined {
  const frameBytes = checkedFrameBytesAt(buffer, position, end);
  if (frameBytes === 0) return undefined;
  const bodyStart = position + FRAME_HEADER_BYTES;
  const keyStart = bodyStart + BODY_FIXED_BYTES;
  const keyEnd = keyStart + buffer.readUInt16BE(bodyStart + 16);
  return new ChunkFrameRecord(frameOffsetAt(buffer, bodyStart), buffer.readDoubleBE(bodyStart + 8), buffer.subarray(keyEnd, position + frameBytes), buffer, keyStart, keyEnd);
}

/** The size of the frame of a record frameRecordAt returned at `position` of `buffer`. */
export function frameBytesAt(buffer: Buffer, position: number): number {
  return FRAME_HEADER_BYTES + buffer.readUInt32BE(position);
}

/**
 * The size of the frame at `position` when it is complete, has a valid CRC and holds record
 * `expectedOffset`; otherwise 0 (decodeFrameAt then says why). A cursor skipping records it does
 * not return (to its checkpoint, or to the end for the lag) takes this path: the same checks,
 * without building a record (key text, data view) per frame.
 */
export function validFrameBytesAt(buffer: Buffer, position: number, end: number, expectedOffset: number): number {
  const frameBytes = checkedFrameBytesAt(buffer, position, end);
  return frameBytes !== 0 && frameOffsetAt(buffer, position + FRAME_HEADER_BYTES) === expectedOffset ? frameBytes : 0;
}

/**
 * decodeFrameAt's checks without its reasons: the size of the frame at `position` when it is
 * complete, within the size bounds, has a valid CRC and a key inside its body; otherwise 0.
 */
function checkedFrameBytesAt(buffer: Buffer, position: number, end: number): number {
  if (end - position < FRAME_HEADER_BYTES) return 0;
  const bodyLength = buffer.readUInt32BE(position);
  if (bodyLength < BODY_FIXED_BYTES || bodyLength > MAX_BODY_BYTES) return 0;
  const frameBytes = FRAME_HEADER_BYTES + bodyLength;
  if (end - position < frameBytes) return 0;
  const bodyStart = position + FRAME_HEADER_BYTES;
  if (crc32(buffer, bodyStart, bodyStart + bodyLength) !== buffer.readUInt32BE(position + 4)) return 0;
  if (bodyStart + BODY_FIXED_BYTES + buffer.readUInt16BE(bodyStart + 16) > bodyStart + bodyLength) return 0;
  return frameBytes;
}

/** A frame's record offset: its u64 as two u32 halves, as written (offsets are safe integers, no BigInt per record). */
function frameOffsetAt(buffer: Buffer, bodyStart: number): number {
  return buffer.readUInt32BE(bodyStart) * 0x1_0000_0000 + buffer.readUInt32BE(bodyStart + 4);
}
