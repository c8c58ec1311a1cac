import { describe, expect, it } from 'vitest';
import { columnValue, TYPE_OID } from '../../contracts/change-event.js';

describe('columnValue (Postgres text → event value)', () => {
  it.each([
    [TYPE_OID.int4, '42', 42],
    [TYPE_OID.int2, '-7', -7],
    [TYPE_OID.int8, '9007199254740991', 9007199254740991],
    [TYPE_OID.int8, '9007199254740993', '9007199254740993'],
    [TYPE_OID.numeric, '3.94', '3.94'],
    [TYPE_OID.numeric, '1234567.80', '1234567.80'],
    [TYPE_OID.numeric, 'NaN', 'NaN'],
    [TYPE_OID.bool, 't', true],
    [TYPE_OID.bool, 'f', false],
    [TYPE_OID.float8, '1.5', 1.5],
    [TYPE_OID.float8, 'Infinity', 'Infinity'],
    [TYPE_OID.timestamp, '2022-11-03 14:20:49.962', '2022-11-03T14:20:49.962'],
    [TYPE_OID.timestamp, '2022-11-03 14:20:49', '2022-11-03T14:20:49'],
    [TYPE_OID.timestamp, 'infinity', 'infinity'],
    [TYPE_OID.timestamptz, '2022-11-03 14:20:49.962+00', '2022-11-03T14:20:49.962Z'],
    [TYPE_OID.timestamptz, '2022-11-03 00:20:49.123456+05:30', '2022-11-02T18:50:49.123456Z'],
    [TYPE_OID.timestamptz, '2022-12-31 23:00:00-02', '2023-01-01T01:00:00Z'],
    [25, `O'Brien "x" — Zoë 🚀`, `O'Brien "x" — Zoë 🚀`],
    [99999, 'SALES_RECEIPT', 'SALES_RECEIPT'],
    [1082, '2024-01-02', '2024-01-02'],
  ])('type %i %j → %j', (oid, text, expected) => {
    expect(columnValue(oid, text)).toStrictEqual(expected);
  });

  it('maps NULL (and a missing value) to null for every type', () => {
    for (const oid of Object.values(TYPE_OID)) {
      expect(columnValue(oid, null)).toBeNull();
      expect(columnValue(oid, undefined)).toBeNull();
    }
  });
});
