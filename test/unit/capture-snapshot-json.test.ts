import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotEncoder, snapshotEvent } from '../../capture/snapshot/initial-snapshot.js';
import { TYPE_OID, partitionKeyOf, serializeChangeEvent } from '../../contracts/change-event.js';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { CAPTURED_TYPES, columnName, columnTextOf } from '../support/column-text-arbitraries.js';

/**
 * Differential check of the snapshot's direct JSON writer (snapshotEncoder: the streaming path's
 * RelationEventEncoder.encodeSnapshot) against its definition: snapshotEvent's object and
 * JSON.stringify. Generated relations (column names JSON escapes or reorders, every type capture
 * maps, the key anywhere) and `col::text` values (NULLs, texts JSON escapes, non-ASCII, numbers
 * that do not print back as they were read) must give byte-identical JSON, the same id and the
 * same partition key.
 */
const SNAPSHOT_LSN = '0/5CC2970';
const COMMIT_TS = '2026-12-07T21:08:12.254Z';

const scenario = fc
  .record({
    table: fc.constantFrom(...SOURCE_TABLES),
    keyName: columnName,
    keyType: fc.constantFrom(TYPE_OID.int4, TYPE_OID.int8, TYPE_OID.int2, 25),
    keyPosition: fc.nat(),
    others: fc.uniqueArray(fc.record({ attname: columnName, atttypid: fc.constantFrom(...CAPTURED_TYPES) }), { selector: (c) => c.attname, maxLength: 8 }),
  })
  .chain(({ table, keyName, keyType, keyPosition, others }) => {
    const rest = others.filter((c) => c.attname !== keyName);
    const keyIndex = keyPosition % (rest.length + 1);
    const columns = [...rest.slice(0, keyIndex), { attname: keyName, atttypid: keyType }, ...rest.slice(keyIndex)];
    const values = fc.tuple(...columns.map((c, i) => (i === keyIndex ? columnTextOf(c.atttypid) : fc.option(columnTextOf(c.atttypid), { freq: 4 }))));
    return fc.record({ table: fc.constant(table), columns: fc.constant(columns), keyIndex: fc.constant(keyIndex), rows: fc.array(values, { minLength: 1, maxLength: 3 }) });
  });

describe('the snapshot direct JSON writer', () => {
  it('writes exactly JSON.stringify of snapshotEvent, with its id and partition key', () => {
    fc.assert(
      fc.property(scenario, ({ table, columns, keyIndex, rows }) => {
        const encode = snapshotEncoder(table, columns, keyIndex, SNAPSHOT_LSN, COMMIT_TS);
        for (const values of rows) {
          const event = snapshotEvent(table, columns, values, keyIndex, SNAPSHOT_LSN, COMMIT_TS);
          expect(encode(values)).toEqual({ id: event.id, partitionKey: partitionKeyOf(event), json: serializeChangeEvent(event) });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('writes a totesys row as the event the contract describes', () => {
    const columns = [
      { attname: 'sales_order_id', atttypid: TYPE_OID.int4 },
      { attname: 'created_at', atttypid: TYPE_OID.timestamp },
      { attname: 'design_id', atttypid: TYPE_OID.int4 },
      { attname: 'unit_price', atttypid: TYPE_OID.numeric },
      { attname: 'agreed_delivery_location_id', atttypid: TYPE_OID.int4 },
    ];
    const encoded = snapshotEncoder('sales_order', columns, 0, SNAPSHOT_LSN, COMMIT_TS)(['42', '2022-11-03 14:20:49.962', '7', '3.94', null]);
    expect(encoded.id).toBe(`snapshot/sales_order/42@${SNAPSHOT_LSN}`);
    expect(encoded.partitionKey).toBe('sales_order:42');
    expect(JSON.parse(encoded.json)).toEqual({
      v: 1,
      id: `snapshot/sales_order/42@${SNAPSHOT_LSN}`,
      op: 'r',
      table: 'sales_order',
      key: { sales_order_id: 42 },
      before: null,
      after: { sales_order_id: 42, created_at: '2022-11-03T14:20:49.962', design_id: 7, unit_price: '3.94', agreed_delivery_location_id: null },
      source: { lsn: SNAPSHOT_LSN, commitLsn: SNAPSHOT_LSN, xid: null, commitTs: COMMIT_TS, snapshot: true },
    });
  });
});
