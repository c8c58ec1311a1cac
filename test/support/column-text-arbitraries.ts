import fc from 'fast-check';
import { TYPE_OID } from '../../contracts/change-event.js';

/**
 * Generators shared by the differential tests of capture's direct JSON writer (streamed changes:
 * capture-event-json.test.ts; snapshot rows: capture-snapshot-json.test.ts): the column types
 * capture maps, Postgres's text of a value of each (with the spellings that take a slow path: '-0',
 * leading zeros, integers past 2^53, NaN, BC dates, and texts that are not the type's at all), and
 * column names JSON escapes or JSON.stringify reorders.
 */
export const CAPTURED_TYPES = [
  TYPE_OID.int2,
  TYPE_OID.int4,
  TYPE_OID.int8,
  TYPE_OID.oid,
  TYPE_OID.bool,
  TYPE_OID.float4,
  TYPE_OID.float8,
  TYPE_OID.numeric,
  TYPE_OID.timestamp,
  TYPE_OID.timestamptz,
  25, // text
  1043, // varchar
  1082, // date
  3802, // jsonb
];

const anyText = fc.string({ unit: 'binary', maxLength: 12 });

export function columnTextOf(typeOid: number): fc.Arbitrary<string> {
  switch (typeOid) {
    case TYPE_OID.int2:
    case TYPE_OID.int4:
    case TYPE_OID.oid:
      return fc.oneof(fc.integer({ min: -2147483648, max: 2147483647 }).map(String), fc.constantFrom('-0', '007', '1e3', ' 1', ''));
    case TYPE_OID.int8:
      return fc.oneof(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
        fc.integer().map(String),
        fc.constantFrom('9007199254740993', '-0', '0012', '123456789012345', '1234567890123456'),
      );
    case TYPE_OID.bool:
      return fc.constantFrom('t', 'f', 'true', 'false', 'x');
    case TYPE_OID.float4:
    case TYPE_OID.float8:
      return fc.oneof(fc.double().map(String), fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e+20', '-0', '0.1', '1.5e-07'));
    case TYPE_OID.numeric:
      return fc.oneof(fc.integer().map((i) => (i / 100).toFixed(2)), fc.constantFrom('NaN', '1234567.80', '-0.001'));
    case TYPE_OID.timestamp:
      return fc.constantFrom('2022-11-03 14:20:49.962', '2022-11-03 14:20:49', 'infinity', '0044-03-15 00:00:00 BC');
    case TYPE_OID.timestamptz:
      return fc.constantFrom('2022-11-03 14:20:49.962+00', '2022-11-03 14:20:49.9+05:30', '-infinity', '2022-11-03 14:20:49-03:30:15');
    case 1082:
      return fc.oneof(anyText, fc.constantFrom('2022-11-03', 'infinity'));
    case 3802:
      return fc.oneof(anyText, fc.constantFrom('{"a": [1, "x\\"y"]}', 'null', '"ünï"'));
    default:
      return fc.oneof(anyText, fc.constantFrom(`O'Brien "Flat" 5 — Zoë 🚀`, 'a\\b', 'tab\there', 'line\nbreak', '\u0000\u001f', '\u2028', ''));
  }
}

export const columnName = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('na"me', 'back\\slash', 'ünï', '123', '0', '__proto__', 'constructor', 'a\u0001') },
);
