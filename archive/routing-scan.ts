/**
 * Reads the members that route a stream record (archive-layout.ts `routeRecord`) from its bytes
 * without parsing it: one left-to-right pass that checks the bytes are one JSON object (RFC 8259,
 * as JSON.parse reads the record's UTF-8 text) and notes its top-level `table` and `kind`.
 *
 * Contract (differential test against the parse in archive-routing-scan.test.ts): when this
 * returns a route, JSON.parse of the record succeeds and routeRecord's parse gives that same
 * route. It returns undefined, and the caller parses, whenever it is not sure: bytes that are not
 * one JSON object, a top-level member name with an escape (`"t\u0061ble"` is `table`), a `table`
 * or `kind` string with an escape or non-ASCII bytes, a table that is not captured, nesting deeper
 * than MAX_DEPTH. So every error route, with its message, still comes from JSON.parse.
 * UTF-8 facts it relies on: the ASCII bytes it looks for never occur inside a multi-byte sequence,
 * and invalid sequences decode to U+FFFD, which JSON accepts inside a string like any character.
 * (The full parse was 0.7 s of the sync process's main thread per 100k catch-up events.)
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const MAX_DEPTH = 64;

const TABLE = bytesOf('table');
const KIND = bytesOf('kind');
const WATERMARK = bytesOf('watermark');

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

export type ScannedRoute = { kind: 'watermark' } | { kind: 'table'; table: string };

/** Scanner state: the position, and what the last string scanned looked like. */
interface Scan {
  buf: Uint8Array;
  end: number;
  p: number;
  /** The last string scanned had an escape / a byte >= 0x80. */
  escaped: boolean;
  nonAscii: boolean;
}

/** The record's route from its top-level `table` / `kind`, or undefined: then parse it (see above). */
/**
 * The names a `table` may route to, with their bytes: a record's table is matched against them
 * byte by byte and the route carries the list's own string (no string made per record).
 */
export class RoutableTables {
  private readonly names: { name: string; bytes: Uint8Array }[];

  constructor(names: readonly string[]) {
    this.names = names.filter((name) => /^[\x20-\x7e]*$/.test(name)).map((name) => ({ name, bytes: bytesOf(name) }));
  }

  /** The name whose bytes are buf[start, end), or undefined. */
  match(buf: Uint8Array, start: number, end: number): string | undefined {
    for (const { name, bytes } of this.names) if (equals(buf, start, end, bytes)) return name;
    return undefined;
  }
}

export function scanRoute(buf: Uint8Array, tables: RoutableTables): ScannedRoute | undefined {
  const s: Scan = { buf, end: buf.length, p: 0, escaped: false, nonAscii: false };
  skipSpace(s);
  if (s.p >= s.end || buf[s.p] !== LBRACE) return undefined;
  s.p++;
  skipSpace(s);
  if (s.p < s.end && buf[s.p] === RBRACE) return undefined; // `{}`: no table, the parse says so
  /** The last top-level `table` string's bytes, or -1 when the last `table` was not a string / there is none. */
  let tableStart = -1;
  let tableEnd = -1;
  let watermark = false;
  for (;;) {
    skipSpace(s);
    const nameStart = s.p + 1;
    if (!string(s) || s.escaped) return undefined;
    const nameEnd = s.p - 1;
    skipSpace(s);
    if (s.p >= s.end || buf[s.p] !== COLON) return undefined;
    s.p++;
    skipSpace(s);
    const isTableMember = equals(buf, nameStart, nameEnd, TABLE);
    const isKindMember = !isTableMember && equals(buf, nameStart, nameEnd, KIND);
    const valueStart = s.p;
    if (!value(s, 1)) return undefined;
    if (isTableMember || isKindMember) {
      const isString = buf[valueStart] === QUOTE;
      if (isString && (s.escaped || s.nonAscii)) return undefined;
      if (isTableMember) {
        tableStart = isString ? valueStart + 1 : -1;
        tableEnd = isString ? s.p - 1 : -1;
      } else {
        watermark = isString && equals(buf, valueStart + 1, s.p - 1, WATERMARK);
      }
    }
    skipSpace(s);
    if (s.p >= s.end) return undefined;
    const next = buf[s.p];
    s.p++;
    if (next === COMMA) continue;
    if (next !== RBRACE) return undefined;
    break;
  }
  skipSpace(s);
  if (s.p !== s.end) return undefined;
  if (watermark) return { kind: 'watermark' };
  if (tableStart < 0) return undefined;
  const table = tables.match(buf, tableStart, tableEnd);
  return table === undefined ? undefined : { kind: 'table', table };
}

function equals(buf: Uint8Array, start: number, end: number, text: Uint8Array): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[start + i] !== text[i]) return false;
  return true;
}

/** JSON whitespace: space, tab, LF, CR. */
function skipSpace(s: Scan): void {
  const { buf, end } = s;
  let p = s.p;
  while (p < end) {
    const b = buf[p];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) break;
    p++;
  }
  s.p = p;
}

/** Byte classes inside a JSON string: 0 plain ASCII, then the bytes string() must look at. */
const PLAIN = 0;
const CLOSE = 1;
const ESCAPE = 2;
const CONTROL = 3;
const NON_ASCII = 4;
const STRING_BYTE = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 0x20; b++) table[b] = CONTROL;
  for (let b = 0x80; b < 0x100; b++) table[b] = NON_ASCII;
  table[QUOTE] = CLOSE;
  table[BACKSLASH] = ESCAPE;
  return table;
})();

/** A JSON string at s.p (s.p after it); false when there is none. Sets s.escaped and s.nonAscii. */
function string(s: Scan): boolean {
  const { buf, end } = s;
  let p = s.p;
  if (p >= end || buf[p] !== QUOTE) return false;
  p++;
  let escaped = false;
  let nonAscii = false;
  for (;;) {
    let kind = PLAIN;
    while (p < end && (kind = STRING_BYTE[buf[p]!]!) === PLAIN) p++;
    if (p >= end) return false;
    if (kind === CLOSE) break;
    if (kind === CONTROL) return false; // JSON forbids raw control characters in strings
    if (kind === NON_ASCII) {
      nonAscii = true;
      p++;
      continue;
    }
    // ESCAPE
    escaped = true;
    if (p + 1 >= end) return false;
    const e = buf[p + 1];
    if (e === 0x75) {
      // \uXXXX
      if (p + 6 > end) return false;
      for (let i = p + 2; i < p + 6; i++) if (!isHex(buf[i]!)) return false;
      p += 6;
      continue;
    }
    // \" \\ \/ \b \f \n \r \t
    if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return false;
    p += 2;
  }
  s.p = p + 1;
  s.escaped = escaped;
  s.nonAscii = nonAscii;
  return true;
}

function isHex(b: number): boolean {
  return (b >= ZERO && b <= NINE) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}

/** Any JSON value at s.p (s.p after it); false when there is none, or it nests deeper than MAX_DEPTH. */
function value(s: Scan, depth: number): boolean {
  const { buf, end } = s;
  if (s.p >= end) return false;
  const b = buf[s.p]!;
  if (b === QUOTE) return string(s);
  if (b === LBRACE || b === LBRACKET) {
    if (depth >= MAX_DEPTH) return false;
    const close = b === LBRACE ? RBRACE : RBRACKET;
    s.p++;
    skipSpace(s);
    if (s.p < end && buf[s.p] === close) {
      s.p++;
      return true;
    }
    for (;;) {
      skipSpace(s);
      if (b === LBRACE) {
        if (!string(s)) return false;
        skipSpace(s);
        if (s.p >= end || buf[s.p] !== COLON) return false;
        s.p++;
        skipSpace(s);
      }
      if (!value(s, depth + 1)) return false;
      skipSpace(s);
      if (s.p >= end) return false;
      const next = buf[s.p];
      s.p++;
      if (next === COMMA) continue;
      return next === close;
    }
  }
  if (b === 0x74) return literal(s, TRUE);
  if (b === 0x66) return literal(s, FALSE);
  if (b === 0x6e) return literal(s, NULL);
  return number(s);
}

const TRUE = bytesOf('true');
const FALSE = bytesOf('false');
const NULL = bytesOf('null');

function literal(s: Scan, text: Uint8Array): boolean {
  if (!equals(s.buf, s.p, Math.min(s.end, s.p + text.length), text)) return false;
  s.p += text.length;
  return true;
}

/** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` */
function number(s: Scan): boolean {
  const { buf, end } = s;
  let p = s.p;
  if (p < end && buf[p] === MINUS) p++;
  if (p >= end) return false;
  if (buf[p] === ZERO) p++;
  else if (buf[p]! > ZERO && buf[p]! <= NINE) p = digits(buf, p, end);
  else return false;
  if (p < end && buf[p] === DOT) {
    const after = digits(buf, p + 1, end);
    if (after === p + 1) return false;
    p = after;
  }
  if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    if (p < end && (buf[p] === PLUS || buf[p] === MINUS)) p++;
    const after = digits(buf, p, end);
    if (after === p) return false;
    p = after;
  }
  s.p = p;
  return true;
}

function digits(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p]! >= ZERO && buf[p]! <= NINE) p++;
  return p;
}
