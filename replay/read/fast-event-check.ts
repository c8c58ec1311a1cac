import { CHANGE_EVENT_VERSION, type ChangeEvent } from '../../contracts/change-event.js';
import { isSourceTable } from '../../contracts/source-tables.js';

/**
 * A hand-written check of the change-event contract for the replay hot path (the zod schema in
 * contracts/change-event.ts costs about as much as JSON.parse itself). It is deliberately NO MORE
 * permissive than the zod schema: when it says no, the caller asks zod (for the message, and so an
 * event zod accepts is never rejected). Tested against the schema in archive-fast-event-check.test.ts.
 */
const OPS = new Set(['c', 'u', 'd', 'r']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isRow(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    const v = value[key];
    if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && (typeof v !== 'number' || !Number.isFinite(v))) return false;
  }
  return true;
}

export function isChangeEventFast(value: unknown): value is ChangeEvent {
  if (!isPlainObject(value)) return false;
  const e = value as Record<string, unknown>;
  if (e.v !== CHANGE_EVENT_VERSION) return false;
  if (typeof e.id !== 'string' || e.id.length === 0) return false;
  if (typeof e.op !== 'string' || !OPS.has(e.op)) return false;
  if (typeof e.table !== 'string' || !isSourceTable(e.table)) return false;
  if (!isRow(e.key)) return false;
  if (e.before !== null && !isRow(e.before)) return false;
  if (e.after !== null && !isRow(e.after)) return false;
  if (e.op === 'd' ? e.before === null : e.after === null) return false;
  const s = e.source;
  if (!isPlainObject(s)) return false;
  if (typeof s.lsn !== 'string' || typeof s.commitLsn !== 'string' || typeof s.commitTs !== 'string' || typeof s.snapshot !== 'boolean') return false;
  if (s.xid !== null && !Number.isSafeInteger(s.xid)) return false;
  return true;
}

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/**
 * `<commitLsn:16 hex><position + 1:14 hex><id>`: sorts like compareVersion, then by id (snapshot
 * rows, position -1, encode as 0; computed without BigInt). Null when the event has no version
 * (bad commitLsn, or a streamed event whose id has no numeric position).
 */
export function versionSortKey(event: Pick<ChangeEvent, 'id' | 'source'>): string | null {
  const match = LSN_TEXT.exec(event.source.commitLsn.trim());
  if (!match) return null;
  let seq = 0;
  if (!event.source.snapshot) {
    const slash = event.id.lastIndexOf('/');
    const text = event.id.slice(slash + 1);
    seq = Number(text);
    if (text.length === 0 || !Number.isSafeInteger(seq) || seq < 0) return null;
    seq += 1; // snapshot rows (SNAPSHOT_SEQ = -1) keep 0 and sort first at the same LSN
  }
  return match[1]!.toUpperCase().padStart(8, '0') + match[2]!.toUpperCase().padStart(8, '0') + seq.toString(16).toUpperCase().padStart(14, '0') + event.id;
}

/** A JSON string token (any escapes) and a primitive (number, true, false, null). */
const STRING = String.raw`"[^"\\]*(?:\\.[^"\\]*)*"`;
const PRIMITIVE = String.raw`[^,{}\[\]"]+`;
/** An object whose values are all strings or primitives, compact (no whitespace). */
const FLAT = String.raw`\{(?:${STRING}:(?:${STRING}|${PRIMITIVE})(?:,${STRING}:(?:${STRING}|${PRIMITIVE}))*)?\}`;
/**
 * The exact text JSON.stringify gives a change event (capture/event-json.ts writes the same
 * bytes): members in contract order, each once, rows flat. Captures id, commitLsn and snapshot.
 */
const CANONICAL_LINE = new RegExp(
  String.raw`^\{"v":1,"id":"([^"\\\x00-\x1f]+)","op":"[cudr]","table":"[a-z_]+","key":${FLAT},"before":(?:null|${FLAT}),"after":(?:null|${FLAT}),` +
    String.raw`"source":\{"lsn":${STRING},"commitLsn":"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})","xid":${PRIMITIVE},"commitTs":${STRING},"snapshot":(true|false)\}\}$`,
);

/**
 * The sort key of an archived line read from its text, without JSON.parse: replay's scan only needs
 * the key to sort, and the line is parsed and validated once, after the merge.
 *
 * Contract (tested against JSON.parse + versionSortKey): when this returns a key and the line is
 * valid JSON, the key is exactly `versionSortKey(JSON.parse(text))`. The pattern is a strict subset
 * of JSON's grammar with the top-level and `source` members in a fixed order, each exactly once, so
 * a match cannot mean anything else; any other spelling (whitespace, member order, escapes in the
 * id) returns null and the caller parses the line. Keys never contain tabs or newlines.
 */
export function lineSortKey(text: string): string | null {
  const match = CANONICAL_LINE.exec(text);
  if (!match) return null;
  const id = match[1]!;
  let seq = 0;
  if (match[4] === 'false') {
    const text = id.slice(id.lastIndexOf('/') + 1);
    seq = Number(text);
    if (text.length === 0 || !Number.isSafeInteger(seq) || seq < 0) return null;
    seq += 1; // as in versionSortKey
  }
  return match[2]!.toUpperCase().padStart(8, '0') + match[3]!.toUpperCase().padStart(8, '0') + seq.toString(16).toUpperCase().padStart(14, '0') + id;
}
