import { isSourceTable } from '../source-tables.js';
import { CHANGE_EVENT_VERSION, type ChangeEvent } from './event.js';

/**
 * A hand-written check of the change-event contract for the replay hot path (the zod schema in
 * strict-parse.ts costs about as much as JSON.parse itself). It is deliberately NO MORE permissive
 * than the strict check, and accepts only values the strict check returns unchanged (no member
 * beyond the contract's, which zod would drop; members in the contract's order, in which zod
 * returns them, so JSON.stringify of either result is the same text): when it says no, the caller
 * asks the strict check (for the message, and so an event it accepts is never rejected). Held to
 * the strict check by the property tests in test/unit/change-event-codec.test.ts. Capture writes
 * every event in that order (writer.ts), so its events always take the fast path.
 */
const OPS = new Set(['c', 'u', 'd', 'r']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The contract's members in the order the strict check (zod) returns them. */
const EVENT_MEMBERS = ['v', 'id', 'op', 'table', 'key', 'before', 'after', 'source'] as const;
const SOURCE_MEMBERS = ['lsn', 'commitLsn', 'xid', 'commitTs', 'snapshot'] as const;

/** Exactly `members`, in that order (none of them is an integer-like name, which for-in would list first). */
function hasMembersInOrder(value: object, members: readonly string[]): boolean {
  let i = 0;
  for (const key in value) if (key !== members[i++]) return false;
  return i === members.length;
}

function isRow(value: unknown): boolean {
  if (!isPlainObject(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    // JSON.parse makes `__proto__` an own member, which a copy (zod's) would turn into a prototype.
    if (key === '__proto__') return false;
    const v = value[key];
    if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && (typeof v !== 'number' || !Number.isFinite(v))) return false;
  }
  return true;
}

export function isChangeEventFast(value: unknown): value is ChangeEvent {
  if (!isPlainObject(value)) return false;
  const e = value as Record<string, unknown>;
  if (e.v !== CHANGE_EVENT_VERSION) return false;
  if (typeof e.id !== 'string' || e.id.length === 0) return false;
  if (typeof e.op !== 'string' || !OPS.has(e.op)) return false;
  if (typeof e.table !== 'string' || !isSourceTable(e.table)) return false;
  if (!isRow(e.key)) return false;
  if (e.before !== null && !isRow(e.before)) return false;
  if (e.after !== null && !isRow(e.after)) return false;
  if (e.op === 'd' ? e.before === null : e.after === null) return false;
  const s = e.source;
  if (!isPlainObject(s)) return false;
  if (typeof s.lsn !== 'string' || typeof s.commitLsn !== 'string' || typeof s.commitTs !== 'string' || typeof s.snapshot !== 'boolean') return false;
  if (s.xid !== null && !Number.isSafeInteger(s.xid)) return false;
  // Checked last (the common case passes the cheap checks first): the contract's members only, in its order.
  return hasMembersInOrder(e, EVENT_MEMBERS) && hasMembersInOrder(s, SOURCE_MEMBERS);
}

