/**
 * Pure planning of PutRecords calls. The ordering rule (docs/guarantees.md#order): a retry of a partially failed
 * PutRecords must never let a key's later record overtake an earlier one. A record that was accepted
 * cannot be un-sent, so the rule is: one call carries at most ONE record per partition key, and a
 * key's next record is only sent after the call that carried the previous one reported it accepted.
 * Then a failed record is simply the first pending record of its key again in the next call.
 */
export const PUT_RECORDS_MAX_RECORDS = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

export interface PendingRecord {
  partitionKey: string;
  /** Data plus partition key bytes: what Kinesis counts against the request size limit. */
  bytes: number;
}

export interface CallLimits {
  maxRecords: number;
  maxBytes: number;
}

/** Positions (into `pending`, ascending) of the records to send in the next call. */
export function planPutRecordsCall(pending: readonly PendingRecord[], limits: CallLimits = { maxRecords: PUT_RECORDS_MAX_RECORDS, maxBytes: PUT_RECORDS_MAX_BYTES }): number[] {
  const blockedKeys = new Set<string>();
  const chosen: number[] = [];
  let bytes = 0;
  for (let i = 0; i < pending.length && chosen.length < limits.maxRecords; i++) {
    const record = pending[i];
    if (blockedKeys.has(record.partitionKey)) continue;
    // Whether it goes now or waits for the size limit, later records of this key wait behind it.
    blockedKeys.add(record.partitionKey);
    if (chosen.length > 0 && bytes + record.bytes > limits.maxBytes) continue;
    chosen.push(i);
    bytes += record.bytes;
  }
  return chosen;
}

/** The pending records after a call: those sent and accepted are removed, order kept. */
export function settlePutRecordsCall<T>(pending: readonly T[], sent: readonly number[], accepted: readonly boolean[]): T[] {
  const done = new Set<number>();
  sent.forEach((position, i) => {
    if (accepted[i]) done.add(position);
  });
  return pending.filter((_, position) => !done.has(position));
}
