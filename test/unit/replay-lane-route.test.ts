import { describe, expect, it } from 'vitest';
import { COUNTERPARTY_GROUP_ROUTE, LineRouter, STAFF_GROUP_ROUTE, laneOfRoute, routeOfBytes, routeOfEvent } from '../../replay/process/lane-route.js';
import { FLAG_SAME_KEY, FLAG_VALIDATED } from '../../replay/order/sorted-runs.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import { generateWorkload } from '../support/archive-workload.js';

const event = (table: string, key: Record<string, number>): ChangeEvent =>
  ({ v: 1, id: '0/1/0', op: 'c', table, key, before: null, after: key, source: { lsn: '0/1', commitLsn: '0/1', xid: 1, commitTs: '2026-11-23T10:00:00.000Z', snapshot: false } }) as ChangeEvent;

/** The route read from a line's bytes, as the scan does. */
function routeOfLine(e: ChangeEvent): number {
  const line = Buffer.from(JSON.stringify(e));
  const text = line.toString('latin1');
  const tableStart = text.indexOf('"table":"') + 9;
  const keyStart = text.indexOf('"key":') + 6;
  return routeOfBytes(line, tableStart, text.indexOf('"', tableStart), keyStart, text.indexOf(',"before"'));
}

describe('lane routes', () => {
  it('keeps each join group together, the two groups on lanes 0 and 1', () => {
    expect(routeOfEvent(event('staff', { staff_id: 3 }))).toBe(STAFF_GROUP_ROUTE);
    expect(routeOfEvent(event('department', { department_id: 9 }))).toBe(STAFF_GROUP_ROUTE);
    expect(routeOfEvent(event('counterparty', { counterparty_id: 3 }))).toBe(COUNTERPARTY_GROUP_ROUTE);
    expect(routeOfEvent(event('address', { address_id: 3 }))).toBe(COUNTERPARTY_GROUP_ROUTE);
    expect([laneOfRoute(STAFF_GROUP_ROUTE, 4), laneOfRoute(COUNTERPARTY_GROUP_ROUTE, 4)]).toEqual([0, 1]);
    expect([laneOfRoute(STAFF_GROUP_ROUTE, 1), laneOfRoute(COUNTERPARTY_GROUP_ROUTE, 1)]).toEqual([0, 0]);
  });

  it('spreads other rows by table and key, the same from the bytes as from the parsed event', () => {
    const lanes = new Set<number>();
    for (let id = 0; id < 200; id++) {
      for (const table of ['sales_order', 'payment', 'transaction', 'staff', 'address']) {
        const e = event(table, { [`${table}_id`]: id });
        const route = routeOfEvent(e);
        expect(routeOfLine(e)).toBe(route);
        if (!['staff', 'address'].includes(table)) {
          expect(route).toBeLessThan(2 ** 31);
          lanes.add(laneOfRoute(route, 3));
        }
      }
    }
    expect([...lanes].sort()).toEqual([0, 1, 2]);
    expect(routeOfEvent(event('sales_order', { sales_order_id: 1 }))).not.toBe(routeOfEvent(event('payment', { sales_order_id: 1 })));
  });
});

describe('line router', () => {
  /** Merged lines as the merge hands them out: text back to back, each line's end and flags. */
  function merged(lines: { text: string; flags: number }[]) {
    const text = Buffer.from(lines.map((l) => l.text).join(''));
    let end = 0;
    const lineEnds = new Uint32Array(lines.map((l) => (end += Buffer.byteLength(l.text))));
    return { count: lines.length, text, lineEnds, origins: new Float64Array(lines.length), flags: new Uint8Array(lines.map((l) => l.flags)) };
  }

  it('routes a canonical line by its bytes and a parsed one by its event, the same lane either way; copies follow the line before', () => {
    const events = generateWorkload(400).map((e) => e.event);
    const reordered = (e: ChangeEvent) => JSON.stringify({ id: e.id, v: e.v, op: e.op, table: e.table, key: e.key, before: e.before, after: e.after, source: e.source });
    const lines = events.flatMap((e, i) => [
      { text: i % 3 === 0 ? reordered(e) : JSON.stringify(e), flags: i % 3 === 0 ? FLAG_VALIDATED : 0 },
      // A copy of the event before it, spelled so that its own route would differ.
      ...(i % 5 === 0 ? [{ text: JSON.stringify({ ...e, table: 'payment', key: { payment_id: -i } }), flags: FLAG_SAME_KEY }] : []),
    ]);
    const batch = merged(lines);
    for (const lanes of [1, 2, 3]) {
      const router = new LineRouter(lanes);
      const text = Buffer.from(batch.text);
      const expected: number[] = [];
      const got: number[] = [];
      let start = 0;
      for (let i = 0; i < batch.count; i++) {
        const end = batch.lineEnds[i]!;
        got.push(router.laneOf(batch, i, text, start, end));
        expected.push(batch.flags[i]! & FLAG_SAME_KEY ? expected.at(-1)! : laneOfRoute(routeOfEvent(JSON.parse(lines[i]!.text) as ChangeEvent), lanes));
        start = end;
      }
      expect(got).toEqual(expected);
      expect(new Set(got).size).toBe(lanes);
    }
  });
});
