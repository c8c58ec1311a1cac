/**
 * The byte-level twin of `lineSortKey` (sort-key.ts): decides whether an archived line, as
 * UTF-8 bytes, is in the canonical spelling capture writes and, if so, reads its sort key without
 * decoding the line to a string or running a regular expression.
 *
 * Contract (tested against lineSortKey in change-event-canonical-line.test.ts and
 * change-event-codec.test.ts): for every byte string, `readCanonicalKey` accepts exactly when
 * `lineSortKey(bytes decoded as UTF-8)` returns a key, and `formatSortKey` then gives that same
 * key. The grammar below is CANONICAL_LINE's, token by
 * token; each of its repetitions is deterministic (a token ends at the first byte it cannot
 * contain), so a single left-to-right pass decides it. UTF-8 facts it relies on: the ASCII bytes it
 * looks for never occur inside a multi-byte sequence, and an invalid sequence decodes to U+FFFD,
 * which every character class here treats like any other non-ASCII character. The one place where
 * a non-ASCII character matters is `\\.` in a JSON string: `.` does not match U+2028/U+2029.
 */
export interface CanonicalKey {
  /** commitLsn, high and low 32 bits. */
  lsnHi: number;
  lsnLo: number;
  /** Position in the transaction + 1; 0 for snapshot rows (they sort first at their LSN). */
  position: number;
  /** The event id's bytes: [idStart, idEnd) of the buffer given. */
  idStart: number;
  idEnd: number;
  /** True when the id has only ASCII bytes (its bytes are its UTF-16 code units). */
  idAscii: boolean;
  /** The table name's bytes and the `key` object's JSON text: [tableStart, tableEnd), [keyStart, keyEnd). */
  tableStart: number;
  tableEnd: number;
  keyStart: number;
  keyEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const SLASH = 0x2f;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

const literal = (text: string) => Buffer.from(text, 'latin1');
const HEAD = literal('{"v":1,"id":"');
const OP = literal('","op":"');
const TABLE = literal('","table":"');
const KEY = literal('","key":');
const BEFORE = literal(',"before":');
const AFTER = literal(',"after":');
const LSN = literal(',"source":{"lsn":');
const COMMIT_LSN = literal(',"commitLsn":"');
const XID = literal('","xid":');
const COMMIT_TS = literal(',"commitTs":');
const SNAPSHOT = literal(',"snapshot":');
const TRUE_END = literal('true}}');
const FALSE_END = literal('false}}');
const NULL = literal('null');

/** `p` + the literal's length when the bytes at `p` are the literal, else -1. */
function expect(buf: Buffer, p: number, end: number, text: Buffer): number {
  if (p < 0 || p + text.length > end) return -1;
  for (let i = 0; i < text.length; i++) if (buf[p + i] !== text[i]) return -1;
  return p + text.length;
}

/** STRING: `"[^"\\]*(?:\\.[^"\\]*)*"`. */
function jsonString(buf: Buffer, p: number, end: number): number {
  if (p < 0 || p >= end || buf[p] !== QUOTE) return -1;
  for (p++; p < end; ) {
    const b = buf[p]!;
    if (b === QUOTE) return p + 1;
    if (b === BACKSLASH) {
      if (p + 1 >= end) return -1;
      const next = buf[p + 1]!;
      if (next === 0x0a || next === 0x0d) return -1;
      // U+2028 / U+2029 (E2 80 A8 / E2 80 A9): line terminators, which `.` does not match.
      if (next === 0xe2 && p + 3 < end && buf[p + 2] === 0x80 && (buf[p + 3] === 0xa8 || buf[p + 3] === 0xa9)) return -1;
      p += 2;
    } else p++;
  }
  return -1;
}

/** PRIMITIVE: `[^,{}\[\]"]+`. */
function primitive(buf: Buffer, p: number, end: number): number {
  if (p < 0) return -1;
  const start = p;
  for (; p < end; p++) {
    const b = buf[p];
    if (b === COMMA || b === LBRACE || b === RBRACE || b === LBRACKET || b === RBRACKET || b === QUOTE) break;
  }
  return p > start ? p : -1;
}

/** FLAT: `\{(?:STRING:(?:STRING|PRIMITIVE)(?:,STRING:(?:STRING|PRIMITIVE))*)?\}`. */
function flatObject(buf: Buffer, p: number, end: number): number {
  if (p < 0 || p >= end || buf[p] !== LBRACE) return -1;
  p++;
  if (p < end && buf[p] === RBRACE) return p + 1;
  for (;;) {
    p = jsonString(buf, p, end);
    if (p < 0 || p >= end || buf[p] !== COLON) return -1;
    p++;
    p = p < end && buf[p] === QUOTE ? jsonString(buf, p, end) : primitive(buf, p, end);
    if (p < 0 || p >= end) return -1;
    if (buf[p] === COMMA) p++;
    else if (buf[p] === RBRACE) return p + 1;
    else return -1;
  }
}

function nullOrFlat(buf: Buffer, p: number, end: number): number {
  if (p < 0 || p >= end) return -1;
  return buf[p] === LBRACE ? flatObject(buf, p, end) : expect(buf, p, end, NULL);
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/** The table name's bytes and the `key` object's JSON text in a line: [tableStart, tableEnd), [keyStart, keyEnd). */
export interface CanonicalRowSpan {
  tableStart: number;
  tableEnd: number;
  keyStart: number;
  keyEnd: number;
}

/** What readCanonicalHead fills in: the row span, the id's bytes and whether they are ASCII. */
interface CanonicalHead extends CanonicalRowSpan {
  idStart: number;
  idEnd: number;
  idAscii: boolean;
}

/**
 * The head of CANONICAL_LINE (`{"v":1,"id":…,"op":…,"table":…,"key":FLAT`): fills `out` and returns
 * the position after the key, or -1.
 */
function readCanonicalHead(buf: Buffer, start: number, end: number, out: CanonicalHead): number {
  let p = expect(buf, start, end, HEAD);
  if (p < 0) return -1;
  const idStart = p;
  let idAscii = true;
  for (; p < end; p++) {
    const b = buf[p]!;
    if (b === QUOTE || b === BACKSLASH || b < 0x20) break;
    if (b >= 0x80) idAscii = false;
  }
  const idEnd = p;
  if (idEnd === idStart) return -1;
  p = expect(buf, p, end, OP);
  if (p < 0 || p >= end) return -1;
  const op = buf[p];
  if (op !== 0x63 && op !== 0x75 && op !== 0x64 && op !== 0x72) return -1; // c u d r
  p = expect(buf, p + 1, end, TABLE);
  if (p < 0) return -1;
  const tableStart = p;
  for (; p < end; p++) {
    const b = buf[p]!;
    if (!((b >= 0x61 && b <= 0x7a) || b === 0x5f)) break; // [a-z_]
  }
  if (p === tableStart) return -1;
  const tableEnd = p;
  const keyStart = expect(buf, p, end, KEY);
  p = flatObject(buf, keyStart, end);
  if (p < 0) return -1;
  out.idStart = idStart;
  out.idEnd = idEnd;
  out.idAscii = idAscii;
  out.tableStart = tableStart;
  out.tableEnd = tableEnd;
  out.keyStart = keyStart;
  out.keyEnd = p;
  return p;
}

/**
 * Reads where the table name and the key's JSON text are in a line the scan found canonical
 * (readCanonicalKey accepted it): only the head of the line is read, and the spans are the ones
 * readCanonicalKey gave. On a line that is not canonical it may return true: ask only about lines
 * known to be canonical.
 */
export function readCanonicalRowSpan(buf: Buffer, start: number, end: number, out: CanonicalRowSpan): boolean {
  return readCanonicalHead(buf, start, end, out as CanonicalHead) >= 0;
}

/**
 * Reads the key of a canonical line `buf[start, end)` into `out`; false when the line is not
 * canonical or its id has no valid position (the caller then parses the line).
 */
export function readCanonicalKey(buf: Buffer, start: number, end: number, out: CanonicalKey): boolean {
  let p = readCanonicalHead(buf, start, end, out);
  if (p < 0) return false;
  const { idStart, idEnd } = out;
  p = nullOrFlat(buf, expect(buf, p, end, BEFORE), end);
  p = nullOrFlat(buf, expect(buf, p, end, AFTER), end);
  p = jsonString(buf, expect(buf, p, end, LSN), end);
  p = expect(buf, p, end, COMMIT_LSN);
  if (p < 0) return false;
  let lsnHi = 0;
  let digits = 0;
  for (; p < end && digits <= 8; p++, digits++) {
    const v = hexValue(buf[p]!);
    if (v < 0) break;
    lsnHi = lsnHi * 16 + v;
  }
  if (digits === 0 || digits > 8 || p >= end || buf[p] !== SLASH) return false;
  p++;
  let lsnLo = 0;
  digits = 0;
  for (; p < end && digits <= 8; p++, digits++) {
    const v = hexValue(buf[p]!);
    if (v < 0) break;
    lsnLo = lsnLo * 16 + v;
  }
  if (digits === 0 || digits > 8) return false;
  p = primitive(buf, expect(buf, p, end, XID), end);
  p = jsonString(buf, expect(buf, p, end, COMMIT_TS), end);
  p = expect(buf, p, end, SNAPSHOT);
  if (p < 0) return false;
  let snapshot: boolean;
  if (expect(buf, p, end, TRUE_END) === end) snapshot = true;
  else if (expect(buf, p, end, FALSE_END) === end) snapshot = false;
  else return false;

  let position = 0;
  if (!snapshot) {
    // As versionSortKey: Number() of the text after the id's last '/', a safe integer >= 0.
    let tailStart = idStart;
    for (let i = idEnd - 1; i >= idStart; i--) {
      if (buf[i] === SLASH) {
        tailStart = i + 1;
        break;
      }
    }
    if (tailStart === idEnd) return false;
    let seq = 0;
    let plainDigits = idEnd - tailStart <= 15;
    for (let i = tailStart; plainDigits && i < idEnd; i++) {
      const b = buf[i]!;
      if (b < 0x30 || b > 0x39) plainDigits = false;
      else seq = seq * 10 + (b - 0x30);
    }
    if (!plainDigits) {
      seq = Number(buf.toString('utf8', tailStart, idEnd));
      if (!Number.isSafeInteger(seq) || seq < 0) return false;
    }
    position = seq + 1;
  }
  out.lsnHi = lsnHi;
  out.lsnLo = lsnLo;
  out.position = position;
  return true;
}

export const newCanonicalKey = (): CanonicalKey => ({ lsnHi: 0, lsnLo: 0, position: 0, idStart: 0, idEnd: 0, idAscii: true, tableStart: 0, tableEnd: 0, keyStart: 0, keyEnd: 0 });
