import { readCanonicalRowSpan, type CanonicalRowSpan, type ChangeEvent } from '../../contracts/change-event.js';
import { FLAG_SAME_KEY, FLAG_VALIDATED } from '../order/sorted-runs.js';
import type { LaneLines } from './lane-protocol.js';

/**
 * The route of a merged line: which processing lane (lanes.ts) its event belongs to, computed by
 * the main thread as it hands the merged lines out (LineRouter below).
 *
 * A route is a 31-bit FNV-1a hash of the table name followed by the `"key":{...}` JSON text, or the
 * route of a join group: source tables whose dimensions share join state
 * (stream-processors/event-rows.ts) must be processed by one lane, in commit order. There are two
 * groups, independent of each other: staff with department (dim_staff), counterparty with address
 * (dim_counterparty, dim_location). They go to lanes 0 and 1, so that no lane carries both (their
 * events fan out: one department change re-emits every one of its staff). For a canonical line the
 * key text is read from the line itself (the codec's readCanonicalRowSpan); for a line the scan had
 * to parse (FLAG_VALIDATED) it is JSON.stringify(event.key), the text capture writes.
 */
export const STAFF_GROUP_ROUTE = 0xffffffff;
export const COUNTERPARTY_GROUP_ROUTE = 0xfffffffe;

const JOIN_GROUPS: ReadonlyMap<string, number> = new Map([
  ['staff', STAFF_GROUP_ROUTE],
  ['department', STAFF_GROUP_ROUTE],
  ['counterparty', COUNTERPARTY_GROUP_ROUTE],
  ['address', COUNTERPARTY_GROUP_ROUTE],
]);

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(hash: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash;
}

/** The route of a line whose table name is `buf[tableStart, tableEnd)` and key text `buf[keyStart, keyEnd)`. */
export function routeOfBytes(buf: Buffer, tableStart: number, tableEnd: number, keyStart: number, keyEnd: number): number {
  const group = JOIN_GROUPS.get(buf.toString('latin1', tableStart, tableEnd));
  if (group !== undefined) return group;
  return fnv(fnv(FNV_OFFSET, buf, tableStart, tableEnd), buf, keyStart, keyEnd) & 0x7fffffff;
}

/** The route of a parsed (valid) event: the same value a canonical spelling of it gets. */
export function routeOfEvent(event: ChangeEvent): number {
  const group = JOIN_GROUPS.get(event.table);
  if (group !== undefined) return group;
  const table = Buffer.from(event.table, 'utf8');
  const key = Buffer.from(JSON.stringify(event.key), 'utf8');
  return fnv(fnv(FNV_OFFSET, table, 0, table.length), key, 0, key.length) & 0x7fffffff;
}

export function laneOfRoute(route: number, lanes: number): number {
  if (route === STAFF_GROUP_ROUTE) return 0;
  if (route === COUNTERPARTY_GROUP_ROUTE) return 1 % lanes;
  return route % lanes;
}

/**
 * Routes merged lines to `lanes` lanes. A line with FLAG_SAME_KEY (another copy of the event before
 * it) follows the lane of the line before it, whatever its own route says (lanes.ts explains why).
 */
export class LineRouter {
  private previousLane = 0;
  private readonly span: CanonicalRowSpan = { tableStart: 0, tableEnd: 0, keyStart: 0, keyEnd: 0 };

  constructor(private readonly lanes: number) {}

  /** The lane of line i of `lines`, which is `text[start, end)`. Call for every line, in merge order. */
  laneOf(lines: LaneLines, i: number, text: Buffer, start: number, end: number): number {
    const flags = lines.flags[i]!;
    if (this.lanes === 1 || flags & FLAG_SAME_KEY) return this.previousLane;
    this.previousLane = laneOfRoute(this.routeOf(text, start, end, flags), this.lanes);
    return this.previousLane;
  }

  private routeOf(text: Buffer, start: number, end: number, flags: number): number {
    // Not FLAG_VALIDATED: the scan found the line canonical, so its head is too.
    if (!(flags & FLAG_VALIDATED) && readCanonicalRowSpan(text, start, end, this.span)) {
      return routeOfBytes(text, this.span.tableStart, this.span.tableEnd, this.span.keyStart, this.span.keyEnd);
    }
    try {
      return routeOfEvent(JSON.parse(text.toString('utf8', start, end)) as ChangeEvent); // the scan validated it
    } catch {
      return 0; // cannot happen (see above); the lane reports the line
    }
  }
}
