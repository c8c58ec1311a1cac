import { describe, expect, it } from 'vitest';
import { COUNTERPARTY_GROUP_ROUTE, STAFF_GROUP_ROUTE, laneOfRoute, routeOfBytes, routeOfEvent } from '../../replay/process/lane-route.js';
import type { ChangeEvent } from '../../contracts/change-event.js';

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
