import type { SourceTable } from '../source-tables.js';
import { columnValue, timestampText, TYPE_OID } from './column-value.js';
import { CHANGE_EVENT_VERSION, snapshotEventId, type ChangeEvent, type ChangeOp } from './event.js';

/**
 * The canonical JSON text of a change event: JSON.stringify, members in the contract's order (the
 * order of ChangeEvent's members, which every writer builds its objects in). One line of NDJSON; it
 * never contains a raw newline. Replay's fast readers (sort-key.ts, canonical-line.ts) recognise
 * this spelling; any other spelling of a valid event is still read, only more slowly.
 */
export function serializeChangeEvent(event: ChangeEvent): string {
  return JSON.stringify(event);
}

/**
 * The JSON text of streamed change events, written directly from the column texts pgoutput sent.
 *
 * Contract: for every input, `json` is exactly `serializeChangeEvent(event)` (JSON.stringify) of the
 * event the generic path would build (test/unit/capture-event-json.test.ts checks it against that
 * model with generated tuples), and `partitionKey` is `partitionKeyOf(event)`. What makes it cheap:
 * the parts that only depend on the relation (member names, op/table/key prefix) are serialized
 * once per relation message, the per-transaction source fields once per transaction, and a value
 * whose text is already its JSON token (canonical integers; strings without characters JSON
 * escapes) is copied as is. Anything else goes through columnValue + JSON.stringify, value by value.
 */
export interface EncodedChangeEvent {
  id: string;
  partitionKey: string;
  json: string;
}

/** Tuple values as pgoutput sent them, aligned with the relation's columns (see capture's text-pgoutput-plugin.ts). */
export type TupleValue = string | null | undefined | Uint8Array;
export type TupleValues = TupleValue[];

export interface EncoderColumn {
  name: string;
  typeOid: number;
}

/**
 * JSON.stringify writes integer-like property names first, in numeric order, and a `__proto__`
 * assignment on a plain object does not create a property: relations with such column names keep
 * the generic path so their events stay byte-identical.
 */
const REORDERED_OR_SPECIAL_NAME = /^(?:0|[1-9][0-9]*)$|^__proto__$/;

export class RelationEventEncoder {
  /** Index of the primary key column in the relation, -1 when the relation lacks it. */
  readonly keyIndex: number;
  /** False when events of this relation must be built as objects and stringified. */
  readonly direct: boolean;
  private readonly typeOids: number[];
  private readonly firstMember: string[];
  private readonly nextMember: string[];
  private readonly heads: Record<'c' | 'u' | 'd', string>;
  /** After a snapshot event's quoted id: its op, table and key member up to the key's token. */
  private readonly snapshotHead: string;

  constructor(
    columns: readonly EncoderColumn[],
    readonly table: SourceTable,
    keyColumn: string,
  ) {
    this.keyIndex = columns.findIndex((c) => c.name === keyColumn);
    this.direct = !columns.some((c) => REORDERED_OR_SPECIAL_NAME.test(c.name));
    this.typeOids = columns.map((c) => c.typeOid);
    this.firstMember = columns.map((c) => `${JSON.stringify(c.name)}:`);
    this.nextMember = this.firstMember.map((m) => `,${m}`);
    const head = (op: ChangeOp) => `","op":${JSON.stringify(op)},"table":${JSON.stringify(table)},"key":{${JSON.stringify(keyColumn)}:`;
    this.heads = { c: head('c'), u: head('u'), d: head('d') };
    this.snapshotHead = head('r').slice(1);
  }

  /**
   * `keyText` is the key column's text in the row the key is taken from (checked non-null by the
   * caller). Returns undefined when a value is not text (binary mode): the caller takes the generic path.
   */
  encode(
    op: 'c' | 'u' | 'd',
    id: string,
    keyText: string,
    before: TupleValues | null,
    after: TupleValues | null,
    lsn: string,
    sourceTail: string,
  ): EncodedChangeEvent | undefined {
    const beforeJson = before === null ? 'null' : this.row(before);
    if (beforeJson === undefined) return undefined;
    const afterJson = after === null ? 'null' : this.row(after);
    if (afterJson === undefined) return undefined;
    const keyIndex = this.keyIndex;
    const keyToken = this.token(keyIndex, keyText);
    // The library spells XLogData LSNs as hex digits and a slash: nothing to escape.
    const json = `{"v":${CHANGE_EVENT_VERSION},"id":"${id}${this.heads[op]}${keyToken}},"before":${beforeJson},"after":${afterJson},"source":{"lsn":"${lsn}${sourceTail}`;
    return { id, partitionKey: `${this.table}:${this.keyString(keyIndex, keyText, keyToken)}`, json };
  }

  /**
   * A snapshot's `r` event of one row (capture/snapshot/initial-snapshot.ts snapshotEvent builds the
   * same event as an object): `sourceTail` is snapshotSourceTail's, `keyText` the key column's text.
   * Undefined when a value is not text: the caller takes the generic path.
   */
  encodeSnapshot(keyText: string, after: TupleValues, snapshotLsn: string, sourceTail: string): EncodedChangeEvent | undefined {
    const afterJson = this.row(after);
    if (afterJson === undefined) return undefined;
    const keyIndex = this.keyIndex;
    const keyToken = this.token(keyIndex, keyText);
    const keyString = this.keyString(keyIndex, keyText, keyToken);
    const id = snapshotEventId(this.table, keyString, snapshotLsn);
    const json = `{"v":${CHANGE_EVENT_VERSION},"id":${jsonString(id)}${this.snapshotHead}${keyToken}},"before":null,"after":${afterJson},"source":{"lsn":${jsonString(snapshotLsn)}${sourceTail}`;
    return { id, partitionKey: `${this.table}:${keyString}`, json };
  }

  private row(tuple: TupleValues): string | undefined {
    let json = '{';
    let empty = true;
    for (let i = 0; i < tuple.length; i++) {
      const raw = tuple[i];
      if (raw === undefined) continue;
      let token: string;
      if (raw === null) token = 'null';
      else if (typeof raw === 'string') token = this.token(i, raw);
      else return undefined;
      json += (empty ? this.firstMember[i] : this.nextMember[i]) + token;
      empty = false;
    }
    return `${json}}`;
  }

  /** JSON.stringify(columnValue(typeOid, text)), without the detour where the text already is the token. */
  private token(i: number, text: string): string {
    switch (this.typeOids[i]) {
      case TYPE_OID.int2:
      case TYPE_OID.int4:
      case TYPE_OID.int8:
      case TYPE_OID.oid:
        return isCanonicalSafeInteger(text) ? text : JSON.stringify(columnValue(this.typeOids[i], text));
      case TYPE_OID.bool:
        return text === 't' || text === 'true' ? 'true' : 'false';
      case TYPE_OID.float4:
      case TYPE_OID.float8:
      case TYPE_OID.timestamptz:
        return JSON.stringify(columnValue(this.typeOids[i], text));
      case TYPE_OID.timestamp:
        return jsonString(timestampText(text));
      default:
        return jsonString(text);
    }
  }

  /** String(columnValue(...)) of the key, as partitionKeyOf spells it. */
  private keyString(i: number, text: string, token: string): string {
    // A token equal to the text is a number (or boolean) that prints back as that text. ('null'
    // would be NaN, which String() spells differently.)
    if (token === text && token !== 'null') return text;
    return String(columnValue(this.typeOids[i], text));
  }
}

/** The text after a snapshot event's `"lsn":"…"`: the rest of its source, closing the event. */
export function snapshotSourceTail(snapshotLsn: string, commitTs: string): string {
  return `,${JSON.stringify({ commitLsn: snapshotLsn, xid: null, commitTs, snapshot: true }).slice(1)}}`;
}

/**
 * '-12', '0', '42': the text Number() reads and JSON.stringify prints back unchanged. At most 15
 * digits, so the value is an exact (safe) integer; '-0', leading zeros or signs take the slow path.
 */
export function isCanonicalSafeInteger(text: string): boolean {
  const length = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  if (length === i || length - i > 15) return false;
  if (text.charCodeAt(i) === 48) return length === 1;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** JSON.stringify(text): quotes only when nothing needs escaping (control chars, `"`, `\`, surrogates). */
export function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}
