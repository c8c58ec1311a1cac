import { formatLsn, parseLsn, type Lsn } from '../../contracts/lsn.js';
import type { PgoutputMessageLike, RelationLike } from '../../capture/replication/pgoutput-decoder.js';
import type { ReplicationStream, ReplicationStreamHandlers } from '../../capture/replication/replication-stream.js';

/**
 * An in-memory replication port for unit tests of ReplicationSession: the test plays the server
 * (start, messages, keepalives, errors) and reads what the session acknowledged, paused and stopped.
 */
export class FakeReplicationStream implements ReplicationStream {
  readonly acknowledged: Lsn[] = [];
  readonly calls: string[] = [];
  startedFrom: Lsn | null = null;
  paused = false;
  private handlers: ReplicationStreamHandlers | null = null;
  private end: (() => void) | null = null;

  start(from: Lsn, handlers: ReplicationStreamHandlers): Promise<void> {
    this.calls.push('start');
    this.startedFrom = from;
    this.handlers = handlers;
    return new Promise((resolve) => (this.end = resolve));
  }

  acknowledge(flushLsn: Lsn): void {
    this.calls.push(`ack ${formatLsn(flushLsn)}`);
    this.acknowledged.push(flushLsn);
  }

  pause(): void {
    this.calls.push('pause');
    this.paused = true;
  }

  resume(): void {
    this.calls.push('resume');
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.calls.push('stop');
    this.end?.();
  }

  async destroy(): Promise<void> {
    this.calls.push('destroy');
    this.end?.();
  }

  /** The highest flush position acknowledged so far (0n: none). */
  get confirmed(): Lsn {
    return this.acknowledged.reduce((a, b) => (b > a ? b : a), 0n);
  }

  // ---- the server's side ----

  replicationStarted(): void {
    this.handlers!.onStarted();
  }

  send(lsn: string, message: PgoutputMessageLike): void {
    this.handlers!.onMessage(lsn, message);
  }

  keepalive(walEnd: string, shouldRespond = false): void {
    this.handlers!.onKeepalive(walEnd, shouldRespond);
  }

  fail(error: Error): void {
    this.handlers!.onError(error);
  }

  /** Begin, one currency insert per id, commit: the transaction whose commit record is at `commitLsn`. */
  transaction(commitLsn: string, ids: number[]): { commitEndLsn: string } {
    const commit = parseLsn(commitLsn);
    const first = commit - BigInt(ids.length + 1) * 0x40n;
    this.send(formatLsn(first), { tag: 'begin', commitLsn, commitTime: 1_700_000_000_000_000n, xid: 700 + ids.length });
    ids.forEach((id, i) => this.send(formatLsn(first + BigInt(i + 1) * 0x40n), { tag: 'insert', relation: CURRENCY, new: [String(id), 'GBP', '2024-01-01 00:00:00', '2024-01-01 00:00:00'] }));
    const commitEndLsn = formatLsn(commit + 0x30n);
    this.send(commitLsn, { tag: 'commit', commitLsn, commitEndLsn });
    return { commitEndLsn };
  }
}

const CURRENCY: RelationLike = {
  schema: 'public',
  name: 'currency',
  columns: [
    { name: 'currency_id', typeOid: 23, flags: 1 },
    { name: 'currency_code', typeOid: 25 },
    { name: 'created_at', typeOid: 1114 },
    { name: 'last_updated', typeOid: 1114 },
  ],
};
