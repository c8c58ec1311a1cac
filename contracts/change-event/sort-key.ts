import { InvalidChangeEventError, type ChangeEvent } from './event.js';

/**
 * The sort key of a change event: `<commitLsn:16 hex><position + 1:14 hex><id>`, its version
 * (eventVersion: commit LSN, then position in the transaction) then its id, as one string that
 * sorts like compareVersion. Replay sorts the archive by it (replay/order/) and dedupes by it (same
 * id ⇒ same key). Three readers give the same key: versionSortKey from a parsed event,
 * lineSortKey from a line's text without parsing it, readCanonicalKey (canonical-line.ts) from its
 * bytes; the property tests in test/unit/change-event-codec.test.ts hold them together.
 */
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
 * The exact text JSON.stringify gives a change event (writer.ts writes the same bytes): members in
 * contract order, each once, rows flat. Captures id, commitLsn and snapshot.
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

/** The sort key of a valid event; throws when it has no version. */
export function eventSortKey(event: ChangeEvent): string {
  const key = versionSortKey(event);
  if (key === null) throw new InvalidChangeEventError(`event has no version (commitLsn ${event.source.commitLsn}, id ${event.id})`, event.id);
  return key;
}

/** The key in lineSortKey's / versionSortKey's string form (tests; error messages). */
export function formatSortKey(lsnHi: number, lsnLo: number, position: number, id: string): string {
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  return hex(lsnHi, 8) + hex(lsnLo, 8) + hex(position, 14) + id;
}

/** The numeric parts of a key in versionSortKey's string form (see formatSortKey). */
export function parseSortKey(key: string): { lsnHi: number; lsnLo: number; position: number; id: string } {
  return { lsnHi: parseInt(key.slice(0, 8), 16), lsnLo: parseInt(key.slice(8, 16), 16), position: parseInt(key.slice(16, 30), 16), id: key.slice(30) };
}
