import { describe, expect, it } from 'vitest';
import { compareVersion, eventVersion, snapshotEventId, streamEventId } from '../../contracts/change-event.js';
import { versionSortKey } from '../../contracts/change-event.js';

const source = (commitLsn: string, snapshot: boolean) => ({ lsn: commitLsn, commitLsn, xid: snapshot ? null : 9, commitTs: '2026-11-23T10:00:00.000Z', snapshot });

describe('event version order', () => {
  it('puts a change committed exactly at the snapshot LSN after the snapshot row (it is not in the snapshot)', () => {
    const snapshotRow = { id: snapshotEventId('sales_order', 128, '0/BE05370'), source: source('0/BE05370', true) };
    const streamed = { id: streamEventId('0/BE05370', 0), source: source('0/BE05370', false) };
    expect(compareVersion(eventVersion(streamed), eventVersion(snapshotRow))).toBeGreaterThan(0);
    // Replay's text sort key orders them the same way.
    expect(versionSortKey(streamed)! > versionSortKey(snapshotRow)!).toBe(true);
  });

  it('orders streamed changes by commit LSN, then position', () => {
    const a = { id: streamEventId('0/100', 5), source: source('0/100', false) };
    const b = { id: streamEventId('0/100', 6), source: source('0/100', false) };
    const c = { id: streamEventId('0/101', 0), source: source('0/101', false) };
    expect(compareVersion(eventVersion(a), eventVersion(b))).toBeLessThan(0);
    expect(compareVersion(eventVersion(b), eventVersion(c))).toBeLessThan(0);
    expect([versionSortKey(c), versionSortKey(a), versionSortKey(b)].sort()).toEqual([versionSortKey(a), versionSortKey(b), versionSortKey(c)]);
  });
});
