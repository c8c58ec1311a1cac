import fc from 'fast-check';
import { PgoutputPlugin } from 'pg-logical-replication';
import { describe, expect, it } from 'vitest';
import { TYPE_OID, columnValue } from '../../contracts/change-event.js';
import { isCanonicalSafeInteger, jsonString } from '../../contracts/change-event.js';
import { PgoutputDecoder, normalizeLsn, type PgoutputMessageLike } from '../../capture/replication/pgoutput-decoder.js';
import { TextPgoutputPlugin } from '../../capture/replication/text-pgoutput-plugin.js';
import { CHANGE_EVENT_VERSION, partitionKeyOf, type ChangeEvent, type Row } from '../../contracts/change-event.js';
import { PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import { CAPTURED_TYPES, columnName, columnTextOf } from '../support/column-text-arbitraries.js';

/**
 * Differential check of the streaming fast path (TextPgoutputPlugin's own tuple parser + the
 * direct JSON writer of contracts/change-event/writer.ts) against the definition it replaced: pg-logical-replication's
 * parser with text values kept, rows built as objects (columnValue per column) and
 * JSON.stringify. Generated pgoutput messages (random columns, types, values, NULLs, unchanged
 * TOAST, key-only and full old tuples, non-ASCII and invalid UTF-8, names JSON must escape or
 * reorder) must give byte-identical JSON, the same id and the same partition key.
 */
const COMMIT_LSN = '0/16B37A0';
const CHANGE_LSN = '0/16B3748';
const COMMIT_MICROS = 817_000_000_123_456n; // since 2000-01-01
const XID = 771;
const RELATION_OID = 16384;


// ---- pgoutput wire format (protocol version 1) ----
class Wire {
  private parts: Buffer[] = [];
  u8(n: number) {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  /** A big-endian integer of `size` bytes, written by `write` into a buffer of its own. */
  private fixed(size: number, write: (b: Buffer) => void) {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
    return this;
  }
  i16(n: number) {
    return this.fixed(2, (b) => b.writeUInt16BE(n));
  }
  i32(n: number) {
    return this.fixed(4, (b) => b.writeInt32BE(n));
  }
  i64(n: bigint) {
    return this.fixed(8, (b) => b.writeBigUInt64BE(n));
  }
  cstring(s: string) {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  bytes(b: Uint8Array) {
    this.parts.push(Buffer.from(b));
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const lsnBits = (text: string) => {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

/** A column value on the wire: text bytes, NULL, or an unchanged TOAST placeholder. */
type WireValue = { kind: 't'; bytes: Uint8Array } | { kind: 'n' } | { kind: 'u' };
interface Column {
  name: string;
  typeOid: number;
  key: boolean;
}

function relationMessage(table: string, columns: Column[]): Buffer {
  const w = new Wire().u8(0x52).i32(RELATION_OID).cstring('public').cstring(table).u8(0x66).i16(columns.length);
  for (const c of columns) w.u8(c.key ? 1 : 0).cstring(c.name).i32(c.typeOid).i32(-1);
  return w.done();
}

function tuple(w: Wire, values: WireValue[]): Wire {
  w.i16(values.length);
  for (const v of values) {
    if (v.kind === 't') w.u8(0x74).i32(v.bytes.length).bytes(v.bytes);
    else w.u8(v.kind === 'n' ? 0x6e : 0x75);
  }
  return w;
}

type Change =
  | { op: 'insert'; next: WireValue[] }
  | { op: 'update'; sub: 'K' | 'O' | null; before: WireValue[]; next: WireValue[] }
  | { op: 'delete'; sub: 'K' | 'O'; before: WireValue[] };

function changeMessage(change: Change): Buffer {
  if (change.op === 'insert') return tuple(new Wire().u8(0x49).i32(RELATION_OID).u8(0x4e), change.next).done();
  if (change.op === 'update') {
    const w = new Wire().u8(0x55).i32(RELATION_OID);
    if (change.sub) tuple(w.u8(change.sub.charCodeAt(0)), change.before);
    return tuple(w.u8(0x4e), change.next).done();
  }
  return tuple(new Wire().u8(0x44).i32(RELATION_OID).u8(change.sub.charCodeAt(0)), change.before).done();
}

const beginMessage = () => new Wire().u8(0x42).i64(lsnBits(COMMIT_LSN)).i64(COMMIT_MICROS).i32(XID).done();

// ---- the definition: library parser, rows as objects, JSON.stringify ----
type LibTuple = Record<string, unknown> | null;
function referenceEvent(buffers: { relation: Buffer; begin: Buffer; change: Buffer }, n: number): { id: string; partitionKey: string; json: string } {
  const lib = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
  const relation = lib.parse(buffers.relation);
  if (relation.tag !== 'relation') throw new Error('not a relation');
  for (const column of relation.columns) column.parser = (raw: unknown) => raw;
  const begin = lib.parse(buffers.begin);
  if (begin.tag !== 'begin') throw new Error('not a begin');
  const message = lib.parse(buffers.change) as unknown as { tag: string; new?: LibTuple; old?: LibTuple; key?: LibTuple };
  const toRow = (t: LibTuple): Row => {
    const row: Row = {};
    if (!t) return row;
    for (const column of relation.columns) {
      const raw = t[column.name];
      if (raw === undefined) continue;
      row[column.name] = columnValue(column.typeOid, raw as string | null);
    }
    return row;
  };
  const table = relation.name as SourceTable;
  let op: ChangeEvent['op'];
  let before: Row | null = null;
  let after: Row | null = null;
  if (message.tag === 'insert') {
    op = 'c';
    after = toRow(message.new!);
  } else if (message.tag === 'update') {
    op = 'u';
    before = message.old ? toRow(message.old) : message.key ? toRow(message.key) : null;
    after = toRow(message.new!);
  } else {
    op = 'd';
    before = toRow(message.old ?? message.key ?? null);
  }
  const keyColumn = PRIMARY_KEYS[table];
  const keyValue = (after ?? before)?.[keyColumn];
  if (keyValue === undefined || keyValue === null) throw new Error('no key');
  const commitLsn = normalizeLsn(begin.commitLsn!);
  const event: ChangeEvent = {
    v: CHANGE_EVENT_VERSION,
    id: `${commitLsn}/${n}`,
    op,
    table,
    key: { [keyColumn]: keyValue },
    before,
    after,
    source: {
      lsn: CHANGE_LSN,
      commitLsn,
      xid: begin.xid >>> 0,
      commitTs: new Date(Number(BigInt(begin.commitTime as bigint) / 1000n)).toISOString(),
      snapshot: false,
    },
  };
  return { id: event.id, partitionKey: partitionKeyOf(event), json: JSON.stringify(event) };
}

function fastEvent(buffers: { relation: Buffer; begin: Buffer; change: Buffer }, n: number) {
  const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: ['p'] });
  const decoder = new PgoutputDecoder();
  const decode = (b: Buffer) => decoder.decode(CHANGE_LSN, plugin.parseMessage(b) as PgoutputMessageLike);
  decode(buffers.relation);
  decode(buffers.begin);
  // Earlier changes of the transaction only move n: replay them with the same message.
  for (let i = 0; i < n; i++) decode(buffers.change);
  const result = decode(buffers.change);
  if (result.kind !== 'event') throw new Error(`not an event: ${result.kind}`);
  expect(plugin.receivedCount).toBe(n + 3);
  return result.event;
}

function outcome(fn: () => { id: string; partitionKey: string; json: string }) {
  try {
    const { id, partitionKey, json } = fn();
    return { id, partitionKey, json };
  } catch (error) {
    return { error: (error as Error).message.includes('primary key') || (error as Error).message === 'no key' ? 'no key' : (error as Error).message };
  }
}

// ---- generators ----
const utf8 = (s: string) => new TextEncoder().encode(s);
const wireValue = (typeOid: number): fc.Arbitrary<WireValue> =>
  fc.oneof(
    { weight: 6, arbitrary: columnTextOf(typeOid).map((s) => ({ kind: 't' as const, bytes: utf8(s) })) },
    // Raw bytes, invalid UTF-8 included: both paths must decode them the same way.
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((bytes) => ({ kind: 't' as const, bytes })) },
    { weight: 1, arbitrary: fc.constant<WireValue>({ kind: 'n' }) },
    { weight: 1, arbitrary: fc.constant<WireValue>({ kind: 'u' }) },
  );

const TABLES = Object.keys(PRIMARY_KEYS) as SourceTable[];

const scenario = fc
  .record({
    table: fc.constantFrom(...TABLES),
    keyType: fc.constantFrom(TYPE_OID.int4, TYPE_OID.int8, TYPE_OID.int2, 25),
    keyPosition: fc.nat(),
    others: fc.uniqueArray(fc.record({ name: columnName, typeOid: fc.constantFrom(...CAPTURED_TYPES) }), { selector: (c) => c.name, maxLength: 8 }),
  })
  .chain(({ table, keyType, keyPosition, others }) => {
    const keyName = PRIMARY_KEYS[table];
    const columns: Column[] = others.filter((c) => c.name !== keyName).map((c) => ({ ...c, key: false }));
    columns.splice(keyPosition % (columns.length + 1), 0, { name: keyName, typeOid: keyType, key: true });
    // Mostly a valid key value; sometimes NULL / missing (both paths must reject it).
    const values = fc.tuple(
      ...columns.map((c) =>
        c.key ? fc.oneof({ weight: 8, arbitrary: columnTextOf(c.typeOid).map((s): WireValue => ({ kind: 't', bytes: utf8(s) })) }, { weight: 1, arbitrary: wireValue(c.typeOid) }) : wireValue(c.typeOid),
      ),
    );
    const change: fc.Arbitrary<Change> = fc.oneof(
      values.map((next): Change => ({ op: 'insert', next })),
      fc.record({ sub: fc.constantFrom<'K' | 'O' | null>('K', 'O', null), before: values, next: values }).map((u): Change => ({ op: 'update', ...u })),
      fc.record({ sub: fc.constantFrom<'K' | 'O'>('K', 'O'), before: values }).map((d): Change => ({ op: 'delete', ...d })),
    );
    return fc.record({ table: fc.constant(table), columns: fc.constant(columns), change, n: fc.nat({ max: 3 }) });
  });

describe('streaming fast path: plugin tuple parser + direct event JSON', () => {
  it('matches the library parser + JSON.stringify of the event object, byte for byte', () => {
    fc.assert(
      fc.property(scenario, ({ table, columns, change, n }) => {
        const buffers = { relation: relationMessage(table, columns), begin: beginMessage(), change: changeMessage(change) };
        const expected = outcome(() => referenceEvent(buffers, n));
        const actual = outcome(() => fastEvent(buffers, n));
        expect(actual).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('writes a typical totesys insert directly (the fast path is taken, not the fallback)', () => {
    const columns: Column[] = [
      { name: 'sales_order_id', typeOid: TYPE_OID.int4, key: true },
      { name: 'created_at', typeOid: TYPE_OID.timestamp, key: false },
      { name: 'unit_price', typeOid: TYPE_OID.numeric, key: false },
      { name: 'agreed_delivery_date', typeOid: 1043, key: false },
      { name: 'paid', typeOid: TYPE_OID.bool, key: false },
    ];
    const text = (s: string): WireValue => ({ kind: 't', bytes: utf8(s) });
    const buffers = {
      relation: relationMessage('sales_order', columns),
      begin: beginMessage(),
      change: changeMessage({ op: 'insert', next: [text('42'), text('2022-11-03 14:20:49.962'), text('3.94'), text('2022-11-10'), text('t')] }),
    };
    const event = fastEvent(buffers, 2);
    expect(event.json).toBe(referenceEvent(buffers, 2).json);
    expect(event.partitionKey).toBe('sales_order:42');
    expect(JSON.parse(event.json)).toMatchObject({
      id: `${COMMIT_LSN}/2`,
      key: { sales_order_id: 42 },
      after: { sales_order_id: 42, created_at: '2022-11-03T14:20:49.962', unit_price: '3.94', paid: true },
    });
  });

  it('copies only texts that are already JSON tokens', () => {
    for (const s of ['0', '42', '-7', '123456789012345']) expect(isCanonicalSafeInteger(s)).toBe(true);
    for (const s of ['', '-', '-0', '007', '1e3', '+1', ' 1', '1234567890123456', '1.0']) expect(isCanonicalSafeInteger(s)).toBe(false);
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => jsonString(s) === JSON.stringify(s)));
    fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii' }), (s) => jsonString(s) === JSON.stringify(s)));
    expect(jsonString('\ud800')).toBe(JSON.stringify('\ud800'));
  });
});
