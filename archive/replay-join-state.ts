import { compareVersion } from '../core/change-event.js';
import { referencedId, type JoinSourceTable, type JoinStateStore } from '../stream-processors/state/join-state-store.js';
import type { VersionedRow } from '../stream-processors/transform/versioned-row.js';

/**
 * The join state of one replay processing lane: LocalJoinStateStore's map and reverse indexes
 * without its log. A replay starts from empty state and a failed rebuild is abandoned, never
 * resumed, so the log's durability buys nothing there, while its one append per joined event (a
 * thread-pool round trip each) was what made the lane holding the joined tables the slowest.
 * Same invariants as every adapter (join-state-store.ts); `flush` has nothing to do.
 */
export class ReplayJoinStateStore implements JoinStateStore {
  private readonly rows = new Map<string, VersionedRow>();
  private readonly childrenOf = new Map<string, Set<number>>(); // "department#3" → staff ids

  async put(table: JoinSourceTable, id: number, value: VersionedRow): Promise<VersionedRow> {
    const key = `${table}#${id}`;
    const current = this.rows.get(key);
    if (current && compareVersion(current.version, value.version) >= 0) return current;
    this.rows.set(key, value);
    if (table === 'staff' || table === 'counterparty') {
      const parentId = referencedId(table, value);
      if (parentId !== null) {
        const parentKey = `${table === 'staff' ? 'department' : 'address'}#${parentId}`;
        let children = this.childrenOf.get(parentKey);
        if (!children) this.childrenOf.set(parentKey, (children = new Set()));
        children.add(id);
      }
    }
    return value;
  }

  async get(table: JoinSourceTable, id: number): Promise<VersionedRow | null> {
    return this.rows.get(`${table}#${id}`) ?? null;
  }

  async staffIdsOfDepartment(departmentId: number): Promise<number[]> {
    return [...(this.childrenOf.get(`department#${departmentId}`) ?? [])].sort((a, b) => a - b);
  }

  async counterpartyIdsOfAddress(addressId: number): Promise<number[]> {
    return [...(this.childrenOf.get(`address#${addressId}`) ?? [])].sort((a, b) => a - b);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
