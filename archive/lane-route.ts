import type { ChangeEvent } from '../core/change-event.js';

/**
 * The route of an archived line: which processing lane (lane-pool.ts) its event belongs to,
 * computed once by the scan from the line's bytes and stored with its run record.
 *
 * A route is a 31-bit FNV-1a hash of the table name followed by the `"key":{...}` JSON text, or
 * JOINED_ROUTE for the four source tables whose dimensions share join state (staff, department,
 * counterparty, address: stream-processors/event-rows.ts); those must all be processed by one lane
 * (lane 0) in commit order. For a canonical line the key text is read from the line itself; for a
 * line the scan had to parse it is JSON.stringify(event.key), the text capture writes.
 */
export const JOINED_ROUTE = 0xffffffff;

const JOINED_TABLES: ReadonlySet<string> = new Set(['staff', 'department', 'counterparty', 'address']);

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(hash: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash;
}

/** The route of a line whose table name is `buf[tableStart, tableEnd)` and key text `buf[keyStart, keyEnd)`. */
export function routeOfBytes(buf: Buffer, tableStart: number, tableEnd: number, keyStart: number, keyEnd: number): number {
  if (JOINED_TABLES.has(buf.toString('latin1', tableStart, tableEnd))) return JOINED_ROUTE;
  return fnv(fnv(FNV_OFFSET, buf, tableStart, tableEnd), buf, keyStart, keyEnd) & 0x7fffffff;
}

/** The route of a parsed (valid) event: the same value a canonical spelling of it gets. */
export function routeOfEvent(event: ChangeEvent): number {
  if (JOINED_TABLES.has(event.table)) return JOINED_ROUTE;
  const table = Buffer.from(event.table, 'utf8');
  const key = Buffer.from(JSON.stringify(event.key), 'utf8');
  return fnv(fnv(FNV_OFFSET, table, 0, table.length), key, 0, key.length) & 0x7fffffff;
}

export const laneOfRoute = (route: number, lanes: number): number => (route === JOINED_ROUTE ? 0 : route % lanes);
