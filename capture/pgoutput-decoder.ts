import type { ChangeEvent, Row, RowValue } from '../core/change-event.js';
import { CHANGE_EVENT_VERSION, streamEventId } from '../core/change-event.js';
import { formatLsn, parseLsn, type Lsn } from '../core/lsn.js';
import { isSourceTable, PRIMARY_KEYS, type SourceTable } from '../core/source-tables.js';
import { columnValue } from './column-value.js';
import { DecodeError } from './capture-errors.js';

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
 */
export interface RelationColumnLike {
  name: string;
  typeOid: number;
}
export interface RelationLike {
  schema: string;
  name: string;
  columns: RelationColumnLike[];
}
type Tuple = Record<string, unknown> | null;

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
  | { kind: 'event'; event: ChangeEvent }
  | { kind: 'commit'; commitLsn: Lsn; commitEndLsn: Lsn }
  | { kind: 'truncate'; tables: string[] }
  | { kind: 'message'; prefix: string; content: string; messageLsn: Lsn; transactional: boolean }
  | { kind: 'ignored-table'; table: string };

interface OpenTransaction {
  commitLsn: string;
  commitTs: string;
  xid: number;
  nextIndex: number;
}

export class PgoutputDecoder {
  private txn: OpenTransaction | null = null;

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
        this.txn = {
          commitLsn: normalizeLsn(message.commitLsn),
          commitTs: new Date(Number(micros / 1000n)).toISOString(),
          xid: message.xid >>> 0,
          nextIndex: 0,
        };
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
      case 'truncate':
        return { kind: 'truncate', tables: message.relations.map((r) => (r ? r.name : '?')) };
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
    let op: ChangeEvent['op'];
    let before: Row | null = null;
    let after: Row | null = null;
    if (message.tag === 'insert') {
      op = 'c';
      after = toRow(relation, message.new);
    } else if (message.tag === 'update') {
      op = 'u';
      before = message.old ? toRow(relation, message.old) : message.key ? toRow(relation, message.key) : null;
      after = toRow(relation, message.new);
      // Unchanged TOASTed values without REPLICA IDENTITY FULL: the library fills them from the old
      // tuple when there is one, otherwise they are left out of `after` (toRow skips undefined).
    } else {
      op = 'd';
      before = toRow(relation, message.old ?? message.key);
    }
    const keyColumn = PRIMARY_KEYS[table];
    const keySource = after ?? before;
    const keyValue: RowValue | undefined = keySource?.[keyColumn];
    if (keyValue === undefined || keyValue === null) {
      throw new DecodeError(`${table} change without primary key ${keyColumn}`, lsn, table);
    }
    const event: ChangeEvent = {
      v: CHANGE_EVENT_VERSION,
      id: streamEventId(txn.commitLsn, n),
      op,
      table,
      key: { [keyColumn]: keyValue },
      before,
      after,
      // The library already spells XLogData LSNs like Postgres ('0/16B3748'): no re-formatting.
      source: { lsn, commitLsn: txn.commitLsn, xid: txn.xid, commitTs: txn.commitTs, snapshot: false },
    };
    return { kind: 'event', event };
  }
}

function toRow(relation: RelationLike, tuple: Tuple): Row {
  const row: Row = {};
  if (!tuple) return row;
  for (const column of relation.columns) {
    const raw = tuple[column.name];
    if (raw === undefined) continue; // unchanged TOAST without a before image, or not in a key tuple
    row[column.name] = columnValue(column.typeOid, raw as string | null);
  }
  return row;
}

/** '00000000/016B37A0' (library) → '0/16B37A0' (Postgres' own spelling, used in ids). */
export function normalizeLsn(text: string): string {
  return formatLsn(parseLsn(text));
}
