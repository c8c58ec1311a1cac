import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { PgoutputMessageLike, RelationLike, TupleValues } from './pgoutput-decoder.js';

const keepText = (raw: unknown) => raw;

// Same decoder as the library's (non-fatal: invalid UTF-8 becomes U+FFFD), so non-ASCII text
// decodes exactly as it did when the library parsed tuples.
const textDecoder = new TextDecoder();
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Buffer, start: number, end: number) => string }).latin1Slice;

const TAG_INSERT = 0x49; // I
const TAG_UPDATE = 0x55; // U
const TAG_DELETE = 0x44; // D
const SUB_KEY = 0x4b; // K
const SUB_OLD = 0x4f; // O
const SUB_NEW = 0x4e; // N
const KIND_TEXT = 0x74; // t
const KIND_NULL = 0x6e; // n
const KIND_UNCHANGED_TOAST = 0x75; // u
const KIND_BINARY = 0x62; // b

/**
 * pgoutput with every value kept as the text Postgres sent. The library attaches node-postgres type
 * parsers to each relation column (numeric → float, timestamp → Date in local time): wrong for the
 * event contract. Relation messages are parsed synchronously on arrival, before any later tuple of
 * that relation, so swapping the parsers here covers every tuple.
 *
 * Insert, update and delete messages (all but a handful of the messages in a busy stream) are parsed
 * here rather than by the library: the tuple comes back as an array of column texts aligned with
 * the relation's columns instead of an object keyed by name, and ASCII text (almost all totesys
 * values) is read as latin1 without a TextDecoder call per column. The semantics are the library's:
 * an unchanged TOASTed value in the new tuple takes the old tuple's value when there is one (else
 * it is left out), a key-only tuple keeps just the key columns, binary values stay bytes. Every
 * other message goes through the library's parser, which also keeps the relation cache truncates use.
 *
 * It also counts XLogData messages as they arrive: a keepalive may overtake data that is received
 * but not yet handled (the session queues data while the sink applies backpressure). Comparing
 * this count with the number of handled messages tells whether everything received before a
 * keepalive has been handled.
 */
export class TextPgoutputPlugin extends PgoutputPlugin {
  receivedCount = 0;
  private readonly relations = new Map<number, Pgoutput.MessageRelation>();
  private position = 0;

  /** The library's entry point; the messages are PgoutputMessageLike (tuples as arrays). */
  override parse(buffer: Buffer): Pgoutput.Message {
    return this.parseMessage(buffer) as unknown as Pgoutput.Message;
  }

  parseMessage(buffer: Buffer): PgoutputMessageLike {
    const tag = buffer[0];
    let message: PgoutputMessageLike;
    if (tag === TAG_INSERT || tag === TAG_UPDATE || tag === TAG_DELETE) {
      message = this.parseChange(buffer, tag);
    } else {
      const parsed = super.parse(buffer);
      if (parsed.tag === 'relation') {
        for (const column of parsed.columns) column.parser = keepText;
        this.relations.set(parsed.relationOid, parsed);
      }
      message = parsed as unknown as PgoutputMessageLike;
    }
    this.receivedCount++;
    return message;
  }

  private parseChange(b: Buffer, tag: number): PgoutputMessageLike {
    this.position = 1;
    const relationOid = this.readInt32(b);
    const relation = this.relations.get(relationOid);
    if (!relation) throw new Error('missing relation');
    const sub = this.readUint8(b);
    if (tag === TAG_INSERT) return { tag: 'insert', relation, new: this.readTuple(b, relation, undefined) };
    let key: TupleValues | null = null;
    let old: TupleValues | null = null;
    if (tag === TAG_UPDATE) {
      let next: TupleValues;
      if (sub === SUB_KEY) {
        key = this.readKeyTuple(b, relation);
        this.readUint8(b); // 'N'
        next = this.readTuple(b, relation, undefined);
      } else if (sub === SUB_OLD) {
        old = this.readTuple(b, relation, undefined);
        this.readUint8(b); // 'N'
        next = this.readTuple(b, relation, old);
      } else if (sub === SUB_NEW) {
        next = this.readTuple(b, relation, undefined);
      } else {
        throw new Error(`unknown submessage key ${String.fromCharCode(sub)}`);
      }
      return { tag: 'update', relation, key, old, new: next };
    }
    if (sub === SUB_KEY) key = this.readKeyTuple(b, relation);
    else if (sub === SUB_OLD) old = this.readTuple(b, relation, undefined);
    else throw new Error(`unknown submessage key ${String.fromCharCode(sub)}`);
    return { tag: 'delete', relation, key, old };
  }

  /** Key tuples carry nulls as placeholders for non-key columns: only key columns are kept. */
  private readKeyTuple(b: Buffer, relation: RelationLike): TupleValues {
    const tuple = this.readTuple(b, relation, undefined);
    const columns = relation.columns;
    for (let i = 0; i < tuple.length; i++) {
      if (!((columns[i].flags ?? 0) & 1) || tuple[i] === null) tuple[i] = undefined;
    }
    return tuple;
  }

  private readTuple(b: Buffer, relation: RelationLike, unchangedToastFallback: TupleValues | undefined): TupleValues {
    const nfields = this.readInt16(b);
    const columns = relation.columns;
    if (nfields > columns.length) throw new Error(`tuple has ${nfields} columns, relation ${relation.name} has ${columns.length}`);
    const tuple: TupleValues = new Array(nfields);
    for (let i = 0; i < nfields; i++) {
      const kind = this.readUint8(b);
      if (kind === KIND_TEXT) {
        const length = this.readInt32(b);
        const start = this.position;
        const end = start + length;
        if (length < 0 || end > b.length) throw new Error('unexpected end of message');
        this.position = end;
        tuple[i] = decodeText(b, start, end);
      } else if (kind === KIND_NULL) {
        tuple[i] = null;
      } else if (kind === KIND_UNCHANGED_TOAST) {
        tuple[i] = unchangedToastFallback?.[i];
      } else if (kind === KIND_BINARY) {
        const length = this.readInt32(b);
        const start = this.position;
        if (length < 0 || start + length > b.length) throw new Error('unexpected end of message');
        this.position = start + length;
        tuple[i] = b.subarray(start, start + length);
      } else {
        throw new Error(`unknown attribute kind ${String.fromCharCode(kind)}`);
      }
    }
    return tuple;
  }

  private readUint8(b: Buffer): number {
    if (this.position + 1 > b.length) throw new Error('unexpected end of message');
    return b[this.position++];
  }

  private readInt16(b: Buffer): number {
    const p = this.position;
    if (p + 2 > b.length) throw new Error('unexpected end of message');
    this.position = p + 2;
    return (b[p] << 8) | b[p + 1];
  }

  private readInt32(b: Buffer): number {
    const p = this.position;
    if (p + 4 > b.length) throw new Error('unexpected end of message');
    this.position = p + 4;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }
}

/** ASCII (checked byte by byte) as latin1, which is the same string and much cheaper to make. */
function decodeText(b: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (b[i] > 0x7f) return textDecoder.decode(b.subarray(start, end));
  }
  return latin1Slice.call(b, start, end);
}
