import type { ChangeEvent, Row, RowValue } from '../../contracts/change-event.js';
import { CHANGE_EVENT_VERSION, partitionKeyOf, serializeChangeEvent, streamEventId } from '../../contracts/change-event.js';
import { formatLsn, parseLsn, type Lsn } from '../../contracts/lsn.js';
import { isSourceTable, PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import { columnValue } from '../../contracts/change-event.js';
import { DecodeError } from '../capture-errors.js';
import { RelationEventEncoder, type EncodedChangeEvent, type TupleValues } from '../../contracts/change-event.js';

export type { EncodedChangeEvent, TupleValue, TupleValues } from '../../contracts/change-event.js';

/**
 * Pure translation of pgoutput messages (as parsed by pg-logical-replication, with text values left
 * unparsed, see text-pgoutput-plugin.ts) into change events.
 *
 * Invariants:
 * 1. Begin carries the commit LSN and commit time, so each change becomes an event as soon as it
 *    arrives (transactions are never buffered).
 * 2. Event ids are `<commitLsn>/<n>`, n counting the transaction's row changes from 0: a replay of
 *    the same transaction yields the same ids.
 * 3. Relation messages are resent by pgoutput after DDL; columns are taken from the relation at the
 *    time of each change, so added columns appear and dropped ones disappear without a restart.
 * 4. Events come out serialized (contracts/change-event/writer.ts): the JSON text is exactly JSON.stringify of the
 *    ChangeEvent this translation defines (`toChangeEvent`, also the path for the rare relations
 *    or values the direct writer does not handle).
 */
export interface RelationColumnLike {
  name: string;
  typeOid: number;
  /** pgoutput column flags: bit 1 marks a replica identity (key) column. */
  flags?: number;
}
export interface RelationLike {
  schema: string;
  name: string;
  columns: RelationColumnLike[];
}
/** Column values aligned with `relation.columns`; undefined = not sent (unchanged TOAST, not in a key tuple). */
type Tuple = TupleValues | null;

export type PgoutputMessageLike =
  | { tag: 'begin'; commitLsn: string | null; commitTime: bigint | BigInt; xid: number }
  | { tag: 'commit'; commitLsn: string | null; commitEndLsn: string | null }
  | { tag: 'insert'; relation: RelationLike; new: Tuple }
  | { tag: 'update'; relation: RelationLike; key: Tuple; old: Tuple; new: Tuple }
  | { tag: 'delete'; relation: RelationLike; key: Tuple; old: Tuple }
  | { tag: 'truncate'; relations: (RelationLike | undefined)[] }
  | { tag: 'message'; transactional: boolean; messageLsn: string | null; prefix: string; content: Uint8Array }
  | { tag: 'relation' | 'type' | 'origin' };

export type DecodeResult =
  | { kind: 'none' }
  | { kind: 'event'; event: EncodedChangeEvent }
  | { kind: 'commit'; commitLsn: Lsn; commitEndLsn: Lsn }
  | { kind: 'truncate'; tables: string[]; commitLsn: string; commitTs: string; seq: number }
  | { kind: 'message'; prefix: string; content: string; messageLsn: Lsn; transactional: boolean }
  | { kind: 'ignored-table'; table: string };

interface OpenTransaction {
  commitLsn: string;
  commitTs: string;
  xid: number;
  nextIndex: number;
  /** JSON of the source fields after `lsn`, the same for every change of the transaction. */
  sourceTail: string;
}

const EMPTY_TUPLE: TupleValues = [];

export class PgoutputDecoder {
  private txn: OpenTransaction | null = null;
  /** Per relation message (a new one after DDL): its pre-serialized JSON parts. */
  private encoders = new WeakMap<RelationLike, RelationEventEncoder>();

  /** True between Begin and Commit: no LSN inside an open transaction may be confirmed. */
  get inTransaction(): boolean {
    return this.txn !== null;
  }

  /** `lsn` is the XLogData start of this message (the change's own WAL position). */
  decode(lsn: string, message: PgoutputMessageLike): DecodeResult {
    switch (message.tag) {
      case 'begin': {
        if (!message.commitLsn) throw new DecodeError('Begin without a commit LSN', lsn, undefined);
        const micros = BigInt(message.commitTime as bigint);
        const commitLsn = normalizeLsn(message.commitLsn);
        const commitTs = new Date(Number(micros / 1000n)).toISOString();
        const xid = message.xid >>> 0;
        const sourceTail = `",${JSON.stringify({ commitLsn, xid, commitTs, snapshot: false }).slice(1)}}`;
        this.txn = { commitLsn, commitTs, xid, nextIndex: 0, sourceTail };
        return { kind: 'none' };
      }
      case 'commit': {
        this.txn = null;
        if (!message.commitLsn || !message.commitEndLsn) throw new DecodeError('Commit without LSNs', lsn, undefined);
        return { kind: 'commit', commitLsn: parseLsn(message.commitLsn), commitEndLsn: parseLsn(message.commitEndLsn) };
      }
      case 'insert':
      case 'update':
      case 'delete':
        return this.change(lsn, message);
      case 'truncate': {
        // A TRUNCATE is a change of its transaction like a row change: it takes the next position,
        // so the delete versions it implies sort after the transaction's earlier changes and
        // before its later ones (contracts/reconcile.ts).
        if (!this.txn) throw new DecodeError('TRUNCATE outside a transaction', lsn, undefined);
        const seq = this.txn.nextIndex++;
        return { kind: 'truncate', tables: message.relations.map((r) => (r ? r.name : '?')), commitLsn: this.txn.commitLsn, commitTs: this.txn.commitTs, seq };
      }
      case 'message':
        return {
          kind: 'message',
          prefix: message.prefix,
          content: Buffer.from(message.content).toString('utf8'),
          messageLsn: parseLsn(message.messageLsn ?? lsn),
          transactional: message.transactional,
        };
      default:
        return { kind: 'none' };
    }
  }

  private change(
    lsn: string,
    message: Extract<PgoutputMessageLike, { tag: 'insert' | 'update' | 'delete' }>,
  ): DecodeResult {
    const txn = this.txn;
    const relation = message.relation;
    if (!txn) throw new DecodeError(`${message.tag} outside a transaction`, lsn, relation?.name);
    if (!isSourceTable(relation.name)) {
      // Not one of ours (someone added a table to the publication): keep n stable for ours.
      return { kind: 'ignored-table', table: `${relation.schema}.${relation.name}` };
    }
    const table: SourceTable = relation.name;
    const n = txn.nextIndex++;
    const id = streamEventId(txn.commitLsn, n);
    let op: 'c' | 'u' | 'd';
    let before: Tuple = null;
    let after: Tuple = null;
    if (message.tag === 'insert') {
      op = 'c';
      after = message.new ?? EMPTY_TUPLE;
    } else if (message.tag === 'update') {
      op = 'u';
      before = message.old ?? message.key ?? null;
      after = message.new ?? EMPTY_TUPLE;
      // Unchanged TOASTed values without REPLICA IDENTITY FULL: the plugin fills them from the old
      // tuple when there is one, otherwise they are undefined and left out of `after`.
    } else {
      op = 'd';
      before = message.old ?? message.key ?? EMPTY_TUPLE;
    }
    const keyColumn = PRIMARY_KEYS[table];
    let encoder = this.encoders.get(relation);
    if (!encoder) this.encoders.set(relation, (encoder = new RelationEventEncoder(relation.columns, table, keyColumn)));
    const keyText = encoder.keyIndex < 0 ? undefined : (op === 'd' ? before : after)![encoder.keyIndex];
    if (keyText === undefined || keyText === null) {
      throw new DecodeError(`${table} change without primary key ${keyColumn}`, lsn, table);
    }
    const encoded =
      encoder.direct && typeof keyText === 'string' ? encoder.encode(op, id, keyText, before, after, lsn, txn.sourceTail) : undefined;
    if (encoded) return { kind: 'event', event: encoded };
    const event = toChangeEvent(relation, table, op, id, before, after, lsn, txn);
    return { kind: 'event', event: { id, partitionKey: partitionKeyOf(event), json: serializeChangeEvent(event) } };
  }
}

/** The change event as an object: the definition the serialized form must match (see contracts/change-event/writer.ts). */
export function toChangeEvent(
  relation: RelationLike,
  table: SourceTable,
  op: 'c' | 'u' | 'd',
  id: string,
  beforeTuple: Tuple,
  afterTuple: Tuple,
  lsn: string,
  txn: Pick<OpenTransaction, 'commitLsn' | 'xid' | 'commitTs'>,
): ChangeEvent {
  const before = beforeTuple ? toRow(relation, beforeTuple) : null;
  const after = afterTuple ? toRow(relation, afterTuple) : null;
  const keyColumn = PRIMARY_KEYS[table];
  const keyValue: RowValue | undefined = (op === 'd' ? before : after)?.[keyColumn];
  if (keyValue === undefined || keyValue === null) throw new DecodeError(`${table} change without primary key ${keyColumn}`, lsn, table);
  return {
    v: CHANGE_EVENT_VERSION,
    id,
    op,
    table,
    key: { [keyColumn]: keyValue },
    before,
    after,
    // The library already spells XLogData LSNs like Postgres ('0/16B3748'): no re-formatting.
    source: { lsn, commitLsn: txn.commitLsn, xid: txn.xid, commitTs: txn.commitTs, snapshot: false },
  };
}

function toRow(relation: RelationLike, tuple: TupleValues): Row {
  const row: Row = {};
  relation.columns.forEach((column, i) => {
    const raw = tuple[i];
    if (raw === undefined) return; // unchanged TOAST without a before image, or not in a key tuple
    row[column.name] = columnValue(column.typeOid, raw as string | null);
  });
  return row;
}

/** '00000000/016B37A0' (library) → '0/16B37A0' (Postgres' own spelling, used in ids). */
export function normalizeLsn(text: string): string {
  return formatLsn(parseLsn(text));
}
