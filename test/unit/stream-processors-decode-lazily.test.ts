import { describe, expect, it } from 'vitest';
import { serializeChangeEvent } from '../../contracts/change-event.js';
import { serializeWatermark } from '../../contracts/watermark.js';
import { decodeRecords, decodeRecordsLazily, type StreamRecordInput } from '../../stream-processors/decode-records.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';

/**
 * decodeRecordsLazily (what processRecords uses) parses each change event only when it is
 * iterated, so a batch's parsed events are not all alive at once, and ends with what decodeRecords
 * gives: the same events, origins and poison, poison in record order.
 */
const record = (sequenceNumber: number, data: string): StreamRecordInput => ({ shardId: 's0', sequenceNumber: String(sequenceNumber), data: Buffer.from(data), arrivalMs: Date.UTC(2026, 11, 7) });
const event = (id: number) => serializeChangeEvent(changeEvent('currency', 'c', sourceRow.currency({ currency_id: id }), { lsn: 0x100 * id }));

describe('decodeRecordsLazily', () => {
  const records = () => [
    record(1, event(1)),
    record(2, '{not json'),
    record(3, serializeWatermark({ ts: '2026-12-07T10:00:00.000Z', lsn: '0/1', openShards: ['s0'] })),
    record(4, `${event(2)}\n${event(3)}\n`),
    record(5, '{"kind":"watermark","v":1}'),
    record(6, ''),
  ];

  it('parses an event only when it is reached, and ends with decodeRecords\' result', () => {
    const lazy = decodeRecordsLazily(records());
    // Watermarks are decoded at once (processEvents needs them before it has iterated the events).
    expect([...lazy.watermarks.values()].map((w) => w.ts)).toEqual(['2026-12-07T10:00:00.000Z']);
    const iterator = lazy.events[Symbol.iterator]();
    const first = iterator.next();
    expect(first.done).toBe(false);
    expect(lazy.eventCount()).toBe(1);
    // The bad JSON of record 2 is not reached yet: only the broken watermark (record 5) is known.
    expect(lazy.poison().map((p) => p.sequenceNumber)).toEqual(['5']);
    const rest = [...{ [Symbol.iterator]: () => iterator }];
    const eager = decodeRecords(records());
    expect([first.value, ...rest]).toEqual(eager.events);
    expect(lazy.eventCount()).toBe(3);
    for (const e of eager.events) expect(lazy.originOf(e)).toEqual(eager.origins.get(e.id));
    // Poison in record order, whichever pass found it.
    expect(lazy.poison()).toEqual(eager.poison);
    expect(eager.poison.map((p) => [p.sequenceNumber, p.reason])).toEqual([
      ['2', 'malformed-json'],
      ['5', 'invalid-event'],
      ['6', 'malformed-json'],
    ]);
  });

  it('reads one event per record without splitting, NDJSON and padded records by line, and gives each event its own record as origin', () => {
    const decoded = decodeRecords([
      record(1, event(1)),
      record(2, ` ${event(2)} `),
      record(3, `${event(3)}\n`),
      record(4, `\n${event(4)}\n\n${event(5)}`),
      record(5, ' \n '),
      record(6, `${event(6)}{`),
    ]);
    expect(decoded.events.map((e) => [e.id, decoded.origins.get(e.id)?.sequenceNumber])).toEqual([
      [JSON.parse(event(1)).id, '1'],
      [JSON.parse(event(2)).id, '2'],
      [JSON.parse(event(3)).id, '3'],
      [JSON.parse(event(4)).id, '4'],
      [JSON.parse(event(5)).id, '4'],
    ]);
    expect(decoded.poison.map((p) => [p.sequenceNumber, p.reason])).toEqual([
      ['5', 'malformed-json'],
      ['6', 'malformed-json'],
    ]);
    expect(decoded.origins.get(JSON.parse(event(1)).id)).toEqual({ shardId: 's0', sequenceNumber: '1' });
  });

  it('gives the origin of the event just iterated, of earlier ones, and of a repeated id its latest record so far', () => {
    const lazy = decodeRecordsLazily([record(1, event(1)), record(2, event(2)), record(3, event(1)), record(4, event(3))]);
    const seen: { id: string; now: string | undefined; first: string | undefined }[] = [];
    let first: ReturnType<typeof JSON.parse> | undefined;
    for (const e of lazy.events) {
      first ??= e;
      // Asked as processEvents asks (the event just given), then about the first event (a lookup by id).
      seen.push({ id: e.id, now: lazy.originOf(e)?.sequenceNumber, first: lazy.originOf(first)?.sequenceNumber });
    }
    const id = (n: number) => JSON.parse(event(n)).id as string;
    expect(seen).toEqual([
      { id: id(1), now: '1', first: '1' },
      { id: id(2), now: '2', first: '1' },
      { id: id(1), now: '3', first: '3' },
      { id: id(3), now: '4', first: '3' },
    ]);
    // Not yielded by this decoder: unknown.
    expect(lazy.originOf({ ...first, id: 'other' })).toBeUndefined();
  });
});
