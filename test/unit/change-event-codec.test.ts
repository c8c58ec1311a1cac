import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSortKey,
  isChangeEventFast,
  lineSortKey,
  newCanonicalKey,
  parseChangeEvent,
  readCanonicalKey,
  readCanonicalRowSpan,
  recordKind,
  serializeChangeEvent,
  validateChangeEvent,
  validateChangeEventFast,
  versionSortKey,
  type ChangeEvent,
  type ChangeOp,
  type Row,
} from '../../contracts/change-event.js';
import { SOURCE_TABLES } from '../../contracts/source-tables.js';
import { generateWorkload } from '../support/archive-workload.js';

/**
 * The change-event codec holds its fast readers to its strict one (contracts/change-event.ts):
 *  - what the writer writes, the strict check and the fast path both accept, with the same result;
 *  - on any line, however damaged, the fast path never accepts what the strict check rejects and
 *    never returns another event than it;
 *  - the sort key read from a line's text (lineSortKey) or bytes (readCanonicalKey) is the parsed
 *    event's (versionSortKey) whenever one is given, and the writer's lines always give one.
 */
type Outcome = { ok: true; event: ChangeEvent } | { ok: false; message: string };

const attempt = (check: () => ChangeEvent): Outcome => {
  try {
    return { ok: true, event: check() };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
};

/** The strict parse and the fast path of one line's text. */
function bothPaths(text: string): { strict: Outcome; fast: Outcome; fastAccepts: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const failed: Outcome = { ok: false, message: (error as Error).message };
    return { strict: failed, fast: failed, fastAccepts: false };
  }
  // Each path gets its own copy: neither may see what the other did to the value.
  const strict = attempt(() => validateChangeEvent(JSON.parse(text)));
  const fastAccepts = isChangeEventFast(JSON.parse(text));
  const fast = attempt(() => validateChangeEventFast(value));
  return { strict, fast, fastAccepts };
}

/** The key the byte reader gives (null when it declines), in lineSortKey's string form. */
function keyFromBytes(bytes: Buffer): string | null {
  const key = newCanonicalKey();
  if (!readCanonicalKey(bytes, 0, bytes.length, key)) return null;
  return formatSortKey(key.lsnHi, key.lsnLo, key.position, bytes.toString('utf8', key.idStart, key.idEnd));
}

/** What the text readers must agree with: the parsed line's key, when it parses and has the members a key needs. */
function parsedKey(text: string): string | null | 'not-json' {
  let value: { id?: unknown; source?: { commitLsn?: unknown; snapshot?: unknown } } | null;
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    return 'not-json';
  }
  if (typeof value?.id !== 'string' || typeof value.source?.commitLsn !== 'string') return null;
  return versionSortKey(value as ChangeEvent);
}

// ---- generated events ----

const hex = (max: number) => fc.nat({ max }).map((n) => n.toString(16).toUpperCase());
const lsn = fc.tuple(hex(0xffffffff), hex(0xffffffff)).map(([hi, lo]) => `${hi}/${lo}`);
/** Text with what JSON escapes or a reader could trip on: quotes, backslashes, controls, line separators, astral and lone surrogates. */
const edgyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\r', '\t', '\u0000', '\u001f', '\u2028', '\u2029', '/', 'é', '😀', '\ud800', '\udfff', '{', '}', ',', ':', 'a'), maxLength: 8 }),
);
const edgyNumber = fc.oneof(fc.integer(), fc.constantFrom(0, -0, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53 + 2, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE), fc.double({ noNaN: true, noDefaultInfinity: true }));
const rowValue = fc.oneof(edgyText, edgyNumber, fc.boolean(), fc.constant(null));
/**
 * Column names, integer-like and prototype names included. Not `__proto__`: an own member of that
 * name survives JSON.parse but not the strict check's copy (the fast path then defers to the strict
 * check, as the last test shows), so no source table may have such a column.
 */
const columnName = fc.oneof(fc.constantFrom('sales_order_id', 'units_sold', 'unit_price', 'created_at', '0', '10', 'constructor', 'toString'), edgyText).filter((name) => name !== '__proto__');
const row: fc.Arbitrary<Row> = fc.dictionary(columnName, rowValue, { maxKeys: 6 }).map((r) => ({ ...r }));
const keyRow: fc.Arbitrary<Row> = fc.tuple(fc.oneof(fc.constantFrom('sales_order_id', 'staff_id'), columnName), rowValue).map(([k, v]) => ({ [k]: v }));

const event: fc.Arbitrary<ChangeEvent> = fc
  .record({
    op: fc.constantFrom<ChangeOp>('c', 'u', 'd', 'r'),
    table: fc.constantFrom(...SOURCE_TABLES),
    key: keyRow,
    before: fc.option(row, { nil: null }),
    after: fc.option(row, { nil: null }),
    lsn: fc.oneof(lsn, edgyText),
    commitLsn: fc.oneof(lsn, lsn, lsn, edgyText),
    xid: fc.option(fc.integer({ min: 0, max: 2 ** 32 }), { nil: null }),
    commitTs: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), edgyText),
    snapshot: fc.boolean(),
    position: fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53 - 1, 2 ** 53)),
    idForm: fc.constantFrom('stream', 'snapshot', 'other'),
    otherId: edgyText.filter((s) => s.length > 0),
  })
  .map((g) => {
    // The op's image must be there (deletes need `before`, every other op `after`).
    const before = g.op === 'd' ? (g.before ?? { ...g.key }) : g.before;
    const after = g.op === 'd' ? g.after : (g.after ?? { ...g.key });
    const id = g.idForm === 'stream' ? `${g.commitLsn}/${g.position}` : g.idForm === 'snapshot' ? `snapshot/${g.table}/${String(Object.values(g.key)[0])}@${g.commitLsn}` : g.otherId;
    return { v: 1, id, op: g.op, table: g.table, key: g.key, before, after, source: { lsn: g.lsn, commitLsn: g.commitLsn, xid: g.xid, commitTs: g.commitTs, snapshot: g.snapshot } } as ChangeEvent;
  });

/** Events as capture writes them: ids `<commitLsn>/<n>` or snapshot ids, LSNs in Postgres's spelling. */
const captureShaped = event.filter(
  (e) => /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/.test(e.source.commitLsn) && /^[^"\\\u0000-\u001f]+$/.test(e.id) && Buffer.from(e.id).toString('utf8') === e.id && (e.source.snapshot || /\/\d{1,15}$/.test(e.id)),
);

// ---- mutations of a line ----

const piece = fc.constantFrom('"', '\\', ',', ':', '{', '}', '[', ']', ' ', 'a', '1', '-', '.', 'e', '/', 'null', 'true', '"id":', '"v":', '"source":', '"op":"d"', '"before":null', '"xid":1.5', '\\"', '\\u0000', '\u2028', 'é', '😀', '"__proto__":', '{}', '"x":{}', '"x":[]');
const textEdits = fc.array(fc.tuple(fc.nat(), fc.nat(4), fc.array(piece, { maxLength: 3 })), { minLength: 1, maxLength: 3 });

function applyEdits(text: string, edits: [number, number, string[]][]): string {
  for (const [at, remove, insert] of edits) {
    const pos = at % (text.length + 1);
    text = text.slice(0, pos) + insert.join('') + text.slice(pos + remove);
  }
  return text;
}

const paths = [['v'], ['id'], ['op'], ['table'], ['key'], ['before'], ['after'], ['source'], ['source', 'lsn'], ['source', 'commitLsn'], ['source', 'xid'], ['source', 'commitTs'], ['source', 'snapshot'], ['extra'], ['source', 'extra'], ['key', '__proto__'], ['after', 'nested']];
const anyValue = fc.oneof(fc.constant(null), fc.constant(undefined), edgyText, edgyNumber, fc.boolean(), fc.constant({}), fc.constant([]), fc.constant({ a: {} }), fc.constantFrom('c', 'u', 'd', 'r', 'staff', 1, 2, '0/1'));

/** A line whose value was changed at one place (a member set to anything, or removed). */
function mutateValue(e: ChangeEvent, path: string[], value: unknown, remove: boolean): string {
  const copy = JSON.parse(serializeChangeEvent(e)) as Record<string, unknown>;
  let target = copy;
  for (const part of path.slice(0, -1)) {
    if (target[part] === null || typeof target[part] !== 'object') return serializeChangeEvent(e);
    target = target[part] as Record<string, unknown>;
  }
  if (remove) delete target[path.at(-1)!];
  else target[path.at(-1)!] = value;
  return JSON.stringify(copy);
}

const isJson = (text: string): boolean => attempt(() => JSON.parse(text) as ChangeEvent).ok;
const asText = (outcome: Outcome): string => (outcome.ok ? JSON.stringify(outcome.event) : `error: ${outcome.message}`);

/**
 * Every claim about one line: the fast path is held to the strict one, the key readers to the
 * parsed event. The line is what a reader gets from bytes (an edit may have split a surrogate pair,
 * which UTF-8 cannot carry).
 */
function checkLine(edited: string): void {
  const text = Buffer.from(edited).toString('utf8');
  const { strict, fast, fastAccepts } = bothPaths(text);
  if (fastAccepts) {
    expect(strict.ok, text).toBe(true);
    expect(JSON.parse(text), text).toEqual((strict as { event: ChangeEvent }).event);
  }
  expect(fast, text).toEqual(strict);
  // The same text too (member order: a quarantined event is written back with JSON.stringify), and
  // parseChangeEvent (the stream processor's parser, through the fast path) has the same outcome.
  expect(asText(fast), text).toBe(asText(strict));
  const parsed = attempt(() => parseChangeEvent(text));
  if (isJson(text)) expect(asText(parsed), text).toBe(asText(strict));
  else expect(parsed.ok ? '' : parsed.message, text).toMatch(/^malformed JSON: /);

  const key = lineSortKey(text);
  expect(keyFromBytes(Buffer.from(text)), text).toBe(key);
  if (key !== null) {
    const expected = parsedKey(text);
    if (expected !== 'not-json') expect(key, text).toBe(expected);
    expect(key).not.toMatch(/[\t\n\r]/);
  }
}

describe('change-event codec', () => {
  it('the writer writes what the strict check and the fast path both accept, with the same event and sort key', () => {
    fc.assert(
      fc.property(event, (e) => {
        const text = serializeChangeEvent(e);
        expect(text).not.toMatch(/[\n\r]/); // one NDJSON line
        expect(recordKind(text)).toBe('change');
        const { strict, fast, fastAccepts } = bothPaths(text);
        const written = JSON.parse(text) as ChangeEvent; // the event as JSON can carry it (-0 is 0)
        expect(strict).toEqual({ ok: true, event: written });
        expect(fastAccepts).toBe(true);
        expect(fast).toEqual(strict);
        checkLine(text);
      }),
      { numRuns: 2500 },
    );
  });

  it('reads the sort key and row of what capture writes from its text and bytes, without parsing it', () => {
    fc.assert(
      fc.property(captureShaped, (e) => {
        const text = serializeChangeEvent(e);
        const key = versionSortKey(JSON.parse(text) as ChangeEvent);
        expect(key).not.toBeNull();
        expect(lineSortKey(text)).toBe(key);
        expect(keyFromBytes(Buffer.from(text))).toBe(key);
        const bytes = Buffer.from(text);
        const span = { tableStart: 0, tableEnd: 0, keyStart: 0, keyEnd: 0 };
        expect(readCanonicalRowSpan(bytes, 0, bytes.length, span)).toBe(true);
        expect(bytes.toString('utf8', span.tableStart, span.tableEnd)).toBe(e.table);
        expect(bytes.toString('utf8', span.keyStart, span.keyEnd)).toBe(JSON.stringify(e.key));
      }),
      { numRuns: 1500 },
    );
    // The archive's own workload is capture-shaped too.
    for (const { text } of generateWorkload(300)) expect(lineSortKey(text)).not.toBeNull();
  });

  it('on damaged text the fast path never accepts what the strict check rejects, and the key readers agree with the parsed line', () => {
    fc.assert(
      fc.property(event, textEdits, (e, edits) => checkLine(applyEdits(serializeChangeEvent(e), edits))),
      { numRuns: 3000 },
    );
    const samples = generateWorkload(200).map((s) => s.text);
    fc.assert(
      fc.property(fc.constantFrom(...samples), textEdits, (text, edits) => checkLine(applyEdits(text, edits))),
      { numRuns: 3000 },
    );
  });

  it('on damaged values (a member set to anything, removed, or added) the fast path never disagrees with the strict check', () => {
    fc.assert(
      fc.property(event, fc.constantFrom(...paths), anyValue, fc.boolean(), (e, path, value, remove) => checkLine(mutateValue(e, path, value, remove))),
      { numRuns: 3000 },
    );
  });

  it('the fast path returns only what the strict check returns: no member beyond the contract, no `__proto__` row member', () => {
    const [sample] = generateWorkload(1).map((s) => s.text);
    for (const text of [
      sample!.replace('"v":1,', '"v":1,"extra":true,'),
      sample!.replace('"snapshot":', '"extra":1,"snapshot":'),
      sample!.replace(/"key":\{/, '"key":{"__proto__":1,'),
      sample!.replace(/"after":\{/, '"after":{"__proto__":{"x":1},'),
    ]) {
      expect(text).not.toBe(sample);
      checkLine(text);
      expect(isChangeEventFast(JSON.parse(text)), text).toBe(false);
    }
  });

  it('the fast path declines members in another order than the contract\'s (the strict check returns them reordered)', () => {
    fc.assert(
      fc.property(event, fc.boolean(), (e, inSource) => {
        const value = JSON.parse(serializeChangeEvent(e)) as Record<string, unknown>;
        const target = inSource ? (value.source as Record<string, unknown>) : value;
        const [first, ...rest] = Object.keys(target);
        const reordered = Object.fromEntries([...rest.map((k) => [k, target[k]]), [first!, target[first!]]]);
        const text = JSON.stringify(inSource ? { ...value, source: reordered } : reordered);
        expect(isChangeEventFast(JSON.parse(text)), text).toBe(false);
        expect(JSON.stringify(parseChangeEvent(text))).toBe(serializeChangeEvent(JSON.parse(serializeChangeEvent(e)) as ChangeEvent));
        checkLine(text);
      }),
      { numRuns: 500 },
    );
  });

  it('tells watermarks from change events by their first member', () => {
    expect(recordKind('{"kind":"watermark","v":1,"ts":"2026-11-22T10:00:00.000Z","lsn":"0/1","openShards":[]}')).toBe('watermark');
    expect(recordKind('  {"kind":"watermark"}')).toBe('watermark');
    expect(recordKind('{"v":1,"kind":"watermark"}')).toBe('change');
    expect(recordKind('{"kind":"something-else"}')).toBe('change'); // unknown kinds are not skipped: they get reported
  });
});
