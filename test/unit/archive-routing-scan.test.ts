import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeRecord, routeRecordByParse } from '../../archive/archive-layout.js';
import { RoutableTables, scanRoute } from '../../archive/routing-scan.js';
import { serializeChangeEvent } from '../../contracts/change-event.js';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { serializeWatermark } from '../../contracts/watermark.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';

/**
 * Differential test: routeRecord (byte scan, parse only when unsure) against routeRecordByParse
 * (the full JSON.parse it replaced), on what capture writes, on JSON of every shape, and on those
 * bytes damaged. Same route, same error code and message, for every input.
 */
const bytes = (text: string) => Buffer.from(text, 'utf8');
const same = (data: Uint8Array): void => {
  expect(routeRecord(data)).toEqual(routeRecordByParse(data));
};

const capturedLines = [
  serializeChangeEvent(changeEvent('staff', 'u', sourceRow.staff({ last_name: 'O\'Brien "the" \u00e9\u2028' }))),
  serializeChangeEvent(changeEvent('sales_order', 'c', sourceRow.sales_order())),
  serializeChangeEvent(changeEvent('address', 'd', sourceRow.address())),
  serializeWatermark({ ts: '2026-12-07T10:00:00.000Z', lsn: '0/16B3748', openShards: ['0', '1'] }),
];

const tableName = fc.oneof(fc.constantFrom(...SOURCE_TABLES, '_prisma_migrations', 'Staff', 'st\\u0061ff', '', 'caf\u00e9', '../x'), fc.string({ maxLength: 12 }));
const member = fc.oneof(
  fc.constantFrom('table', 'kind', 't\\u0061ble', 'k\\u0069nd', 'tablex', 'v'),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s).slice(1, -1)),
);
/** JSON texts spelled by hand (escapes, whitespace, duplicates) so the scan meets more than JSON.stringify writes. */
const jsonText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    tableName.map((t) => JSON.stringify(t)),
    fc.constantFrom('"watermark"', '"w\\u0061termark"', '-0', '1e5', '1.5E-3', 'true', 'null', '[]', '{}', ' 1 '),
    tie('object'),
  ),
  object: fc
    .array(fc.tuple(member, fc.constantFrom('', ' ', '\n'), tie('value') as fc.Arbitrary<string>), { maxLength: 5 })
    .map((members) => `{${members.map(([name, space, value]) => `${space}"${name}"${space}:${space}${value}`).join(',')}}`),
})).object as fc.Arbitrary<string>;

describe('routeRecord reads the route from the bytes, as the parse would', () => {
  it('gives the parse\'s route for what capture writes, and reads it without parsing', () => {
    for (const line of capturedLines) {
      same(bytes(line));
      expect(scanRoute(bytes(line), new RoutableTables(SOURCE_TABLES))).toBeDefined();
    }
    expect(routeRecord(bytes(capturedLines[0]!))).toEqual({ kind: 'change', table: 'staff' });
    expect(routeRecord(bytes(capturedLines[3]!))).toEqual({ kind: 'change', table: '_watermark' });
  });

  it('gives the parse\'s route and error for hand-picked edge cases', () => {
    const cases = [
      '{"table":"staff"}',
      ' \t\r\n{ "table" : "staff" } \n',
      '{"table":"staff",}',
      '{"table":"staff"}x',
      '{"table":"staff"}{}',
      '{"table":"st\\u0061ff"}',
      '{"t\\u0061ble":"staff"}',
      '{"table":"staff","table":"nope"}',
      '{"table":"nope","table":"staff"}',
      '{"table":"staff","table":1}',
      '{"kind":"watermark","table":"nope"}',
      '{"kind":"watermark","kind":"other"}',
      '{"kind":"w\\u0061termark"}',
      '{"kind":"watermark"',
      '{"table":"staff","x":"\u0001"}',
      '{"table":"staff","x":"\\x"}',
      '{"table":"staff","x":"\\u12G4"}',
      '{"table":"staff","x":01}',
      '{"table":"staff","x":-}',
      '{"table":"staff","x":1.}',
      '{"table":"staff","x":1e}',
      '{"table":"staff","x":tru}',
      '{"table":"staff","x":[1,]}',
      '{"table":"staff","x":{"a":1,"a":2}}',
      '{"table":"staff","x":' + '['.repeat(100) + ']'.repeat(100) + '}',
      '\ufeff{"table":"staff"}',
      '{}',
      '[]',
      '"staff"',
      '',
      'null',
    ];
    for (const text of cases) same(bytes(text));
    // Invalid UTF-8 decodes to U+FFFD, which JSON accepts inside strings.
    same(Buffer.concat([bytes('{"table":"staff","x":"'), Buffer.from([0xff, 0xc3]), bytes('"}')]));
    same(Buffer.concat([bytes('{"table":"sta'), Buffer.from([0xff]), bytes('ff"}')]));
  });

  it('gives the parse\'s route for generated JSON objects', () => {
    fc.assert(fc.property(jsonText, (text) => {
        same(bytes(text));
      }), { numRuns: 3000 });
  });

  it('gives the parse\'s route for damaged records: a byte changed, cut, or inserted', () => {
    const damage = fc.tuple(fc.constantFrom(...capturedLines, '{"table":"staff","x":[1,{"y":"z"}]}'), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert'));
    fc.assert(
      fc.property(damage, ([line, at, byte, how]) => {
        const data = bytes(line);
        const i = at % data.length;
        if (how === 'set') data[i] = byte;
        const damaged = how === 'cut' ? data.subarray(0, i) : how === 'insert' ? Buffer.concat([data.subarray(0, i), Buffer.from([byte]), data.subarray(i)]) : data;
        same(damaged);
      }),
      { numRuns: 5000 },
    );
  });
});
