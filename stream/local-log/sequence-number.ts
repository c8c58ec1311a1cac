/**
 * Local log sequence numbers: the record's offset in its shard (0, 1, 2, … counting every record
 * ever appended to the shard, across segments), written as 20 zero-padded decimal digits. So they
 * compare numerically as decimal integers (like Kinesis sequence numbers) AND as plain strings.
 */
export const SEQUENCE_DIGITS = 20;

export function formatSequenceNumber(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid record offset: ${offset}`);
  return String(offset).padStart(SEQUENCE_DIGITS, '0');
}

export function parseSequenceNumber(sequenceNumber: string): number {
  if (!/^\d{1,20}$/.test(sequenceNumber)) throw new RangeError(`not a local log sequence number: ${JSON.stringify(sequenceNumber)}`);
  const offset = Number(sequenceNumber);
  if (!Number.isSafeInteger(offset)) throw new RangeError(`sequence number out of range: ${sequenceNumber}`);
  return offset;
}
