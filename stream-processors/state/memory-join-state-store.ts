import { compareVersion } from '../../contracts/change-event.js';
import type { VersionedRow } from '../transform/versioned-row.js';
import { referencedId, type JoinSourceTable, type JoinStateStore } from './join-state-store.js';

/**
 * Join state in memory only: the newest version of each joined source row and the reverse
 * indexes (department → staff, address → counterparties). LocalJoinStateStore keeps its state in
 * one of these and adds a durable log; replay uses it alone, because a replay starts from empty state
 * and a failed rebuild is abandoned, never resumed (the log's one append per joined event made the
 * replay lane holding the joined tables the slowest). Memory: one entry per joined source row.
 */
const keyOf = (table: JoinSourceTable, id: number) => `${table}#${id}`;

export class MemoryJoinStateStore implements JoinStateStore {
  private readonly rows = new Map<string, VersionedRow>();
  private readonly childrenOf = new Map<string, Set<number>>(); // "department#3" → staff ids

  /** Keeps `value` when it is newer than the stored row; true when it was kept. Synchronous. */
  apply(table: JoinSourceTable, id: number, value: VersionedRow): boolean {
    const key = keyOf(table, id);
    const current = this.rows.get(key);
    if (current && compareVersion(current.version, value.version) >= 0) return false;
    this.rows.set(key, value);
    if (table === 'staff' || table === 'counterparty') {
      const parentId = referencedId(table, value);
      if (parentId !== null) {
        const parentKey = keyOf(table === 'staff' ? 'department' : 'address', parentId);
        let children = this.childrenOf.get(parentKey);
        if (!children) this.childrenOf.set(parentKey, (children = new Set()));
        children.add(id);
      }
    }
    return true;
  }

  /** The stored row, synchronously. */
  current(table: JoinSourceTable, id: number): VersionedRow | undefined {
    return this.rows.get(keyOf(table, id));
  }

  /** Every stored row (for compacting a log). */
  *entries(): Generator<{ table: JoinSourceTable; id: number; value: VersionedRow }> {
    for (const [key, value] of this.rows) {
      const [table, id] = key.split('#');
      yield { table: table as JoinSourceTable, id: Number(id), value };
    }
  }

  get size(): number {
    return this.rows.size;
  }

  async put(table: JoinSourceTable, id: number, value: VersionedRow): Promise<VersionedRow> {
    return this.apply(table, id, value) ? value : this.current(table, id)!;
  }

  async get(table: JoinSourceTable, id: number): Promise<VersionedRow | null> {
    return this.current(table, id) ?? null;
  }

  async staffIdsOfDepartment(departmentId: number): Promise<number[]> {
    return this.childrenOfParent('department', departmentId);
  }

  async counterpartyIdsOfAddress(addressId: number): Promise<number[]> {
    return this.childrenOfParent('address', addressId);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  private childrenOfParent(table: 'department' | 'address', id: number): number[] {
    return [...(this.childrenOf.get(keyOf(table, id)) ?? [])].sort((a, b) => a - b);
  }
}
