import { PipelineError } from '../../platform/errors.js';
import type { VersionedRow } from '../transform/versioned-row.js';

/**
 * Processor state for the two joined dimensions (docs/architecture.md#star-schema-and-joined-dimensions): the latest image of every staff,
 * department, counterparty and address row, with its version, plus reverse indexes (department →
 * staff ids, address → counterparty ids) so a change on the "one" side re-emits every joined row.
 *
 * Invariants every adapter keeps:
 *  1. `put` never replaces a stored row with one of a lower or equal version (a replayed or late
 *     change never wins); it is idempotent, so re-processing a batch after a crash is harmless.
 *  2. When `put` resolves the row is visible to every later `get` (strongly consistent), which is
 *     what makes "write your own side, then read the other side" safe across shards; it is durable
 *     once `flush` resolves (at once for DynamoDB). processEvents flushes before its manifest, so a
 *     checkpoint never passes a batch whose state could still be lost; losing unflushed state in a
 *     crash is harmless because the batch is re-processed and its puts are idempotent.
 *  3. The reverse indexes may hold stale ids (a staff member who moved department): callers check
 *     the joined row's foreign key; they never miss a current one.
 */
export const JOIN_SOURCE_TABLES = ['staff', 'department', 'counterparty', 'address'] as const;
export type JoinSourceTable = (typeof JOIN_SOURCE_TABLES)[number];

/** The foreign keys behind the reverse indexes: child table → (parent table, column). */
export const JOIN_REFERENCES = {
  staff: { parent: 'department', column: 'department_id' },
  counterparty: { parent: 'address', column: 'legal_address_id' },
} as const;

export interface JoinStateStore {
  /** Stores `value` unless the stored version is higher or equal; resolves to the row now stored. */
  put(table: JoinSourceTable, id: number, value: VersionedRow): Promise<VersionedRow>;
  get(table: JoinSourceTable, id: number): Promise<VersionedRow | null>;
  /** Ids of staff rows that reference (or once referenced) the department. */
  staffIdsOfDepartment(departmentId: number): Promise<number[]>;
  /** Ids of counterparty rows whose legal address is (or once was) the address. */
  counterpartyIdsOfAddress(addressId: number): Promise<number[]>;
  /** Makes every put so far durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class StateStoreError extends PipelineError {
  constructor(
    message: string,
    readonly table: JoinSourceTable | undefined,
    readonly id: number | undefined,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The foreign key value a child row holds, or null when absent/not an int. */
export function referencedId(table: 'staff' | 'counterparty', value: VersionedRow): number | null {
  const fk = value.row[JOIN_REFERENCES[table].column];
  return typeof fk === 'number' && Number.isInteger(fk) ? fk : null;
}
