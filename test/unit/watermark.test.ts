import { describe, expect, it } from 'vitest';
import { serializeChangeEvent } from '../../contracts/change-event.js';
import { isWatermarkRecord, parseWatermark, serializeWatermark, warehouseWatermark, type StoredShardWatermark } from '../../contracts/watermark.js';
import { keysForRanges, localLogShardMap } from '../../capture/publish/watermark-shard-map.js';
import { shardIdOf, shardIndexOfKeyReference } from '../../stream/local-log/shard-of-key.js';
import { decodeRecords } from '../../stream-processors/decode-records.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import crypto from 'node:crypto';

const at = (iso: string) => new Date(iso);

describe('watermark contract', () => {
  it('round-trips, and is told apart from change events by its prefix alone', () => {
    const text = serializeWatermark({ ts: '2026-12-07T10:00:00.000Z', lsn: '0/16B3748', openShards: ['shardId-000000000000'] });
    expect(isWatermarkRecord(text)).toBe(true);
    expect(isWatermarkRecord(Buffer.from(text))).toBe(true);
    expect(isWatermarkRecord(Buffer.from('\n' + text))).toBe(true);
    expect(parseWatermark(text)).toEqual({ kind: 'watermark', v: 1, ts: '2026-12-07T10:00:00.000Z', lsn: '0/16B3748', openShards: ['shardId-000000000000'] });
    const event = serializeChangeEvent(changeEvent('currency', 'c', sourceRow.currency()));
    expect(isWatermarkRecord(event)).toBe(false);
    expect(isWatermarkRecord(Buffer.from(event))).toBe(false);
    expect(isWatermarkRecord('{"kind":"water')).toBe(false);
    expect(() => parseWatermark('{"kind":"watermark","v":1,"ts":"yesterday","lsn":"0/1","openShards":["a"]}')).toThrow(/ts/);
  });

  it('warehouse watermark = min over the open shards; a closed shard does not pin it; a missing open shard makes it conservative', () => {
    const rows: StoredShardWatermark[] = [
      { shardId: 'a', ts: at('2026-12-07T10:00:10Z'), openShards: ['a', 'b'] },
      { shardId: 'b', ts: at('2026-12-07T10:00:08Z'), openShards: ['a', 'b'] },
    ];
    expect(warehouseWatermark([])).toBeNull();
    expect(warehouseWatermark(rows)).toEqual(at('2026-12-07T10:00:08Z'));
    // b was split into c and d: b stops at its last watermark, the newest says a, c, d are open.
    const resharded = [
      { shardId: 'a', ts: at('2026-12-07T10:05:00Z'), openShards: ['a', 'c', 'd'] },
      { shardId: 'b', ts: at('2026-12-07T10:00:08Z'), openShards: ['a', 'b'] },
      { shardId: 'c', ts: at('2026-12-07T10:04:59Z'), openShards: ['a', 'c', 'd'] },
      { shardId: 'd', ts: at('2026-12-07T10:04:58Z'), openShards: ['a', 'c', 'd'] },
    ];
    expect(warehouseWatermark(resharded)).toEqual(at('2026-12-07T10:04:58Z'));
    // d has no watermark yet: never optimistic, the minimum over every row.
    expect(warehouseWatermark(resharded.filter((r) => r.shardId !== 'd'))).toEqual(at('2026-12-07T10:00:08Z'));
  });

  it('the processor takes watermark records out of the events, keeping the last one per shard', () => {
    const wm = (ts: string) => Buffer.from(serializeWatermark({ ts, lsn: '0/1', openShards: ['s0', 's1'] }));
    const event = Buffer.from(serializeChangeEvent(changeEvent('currency', 'c', sourceRow.currency())));
    const decoded = decodeRecords([
      { shardId: 's0', sequenceNumber: '1', data: wm('2026-12-07T10:00:00.000Z'), arrivalMs: 0 },
      { shardId: 's0', sequenceNumber: '2', data: event, arrivalMs: 0 },
      { shardId: 's0', sequenceNumber: '3', data: wm('2026-12-07T10:00:01.000Z'), arrivalMs: 0 },
      { shardId: 's1', sequenceNumber: '1', data: Buffer.from('{"kind":"watermark","v":1}'), arrivalMs: 0 },
    ]);
    expect(decoded.events).toHaveLength(1);
    expect([...decoded.watermarks.values()]).toEqual([{ shardId: 's0', ts: '2026-12-07T10:00:01.000Z', lsn: '0/1', openShards: ['s0', 's1'] }]);
    expect(decoded.poison).toHaveLength(1); // a broken watermark is quarantined, never a crash
  });
});

describe('watermark shard map', () => {
  it('local log: one key per shard, each routing to its shard', async () => {
    for (const shards of [1, 2, 4, 7, 64]) {
      const targets = await localLogShardMap(shards).watermarkTargets();
      expect(targets.map((t) => t.shardId)).toEqual(Array.from({ length: shards }, (_, i) => shardIdOf(i)));
      for (const [i, t] of targets.entries()) expect(shardIndexOfKeyReference(t.partitionKey, shards)).toBe(i);
    }
  });

  it('Kinesis: a key inside each open shard’s hash-key range, also uneven ranges after a split', () => {
    const max = 2n ** 128n - 1n;
    const ranges = [
      { shardId: 'shardId-000000000001', start: 0n, end: max / 2n },
      { shardId: 'shardId-000000000002', start: max / 2n + 1n, end: (max / 4n) * 3n },
      { shardId: 'shardId-000000000003', start: (max / 4n) * 3n + 1n, end: max },
    ];
    const targets = keysForRanges(ranges);
    expect(targets.map((t) => t.shardId)).toEqual(ranges.map((r) => r.shardId));
    for (const t of targets) {
      const hash = BigInt('0x' + crypto.createHash('md5').update(t.partitionKey).digest('hex'));
      const range = ranges.find((r) => r.shardId === t.shardId)!;
      expect(hash >= range.start && hash <= range.end).toBe(true);
    }
  });
});

describe('manifest key times (the draining loader’s cheap polls)', () => {
  it('reads the write time from the key the processor writes, NaN for any other shape', async () => {
    const { manifestKey, manifestTimeOfKey } = await import('../../contracts/manifest-layout.js');
    expect(manifestTimeOfKey(manifestKey('', '2026-12-07T10:15:00.123Z', 'abc'))).toBe(Date.parse('2026-12-07T10:15:00.123Z'));
    expect(manifestTimeOfKey(manifestKey('replay/1/', '2026-12-31T23:59:59.999Z', 'f00'))).toBe(Date.parse('2026-12-31T23:59:59.999Z'));
    expect(manifestTimeOfKey('manifests/odd.json')).toBeNaN();
  });
});
