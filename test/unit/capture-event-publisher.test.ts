import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../capture/publish/ack-tracker.js';
import { EventPublisher } from '../../capture/publish/event-publisher.js';
import { CHANGE_EVENT_VERSION, type ChangeEvent } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import { RecordingWriter } from '../support/capture-recorder.js';

function changeEventFactory(n: number, overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    v: CHANGE_EVENT_VERSION,
    id: `0/100/${n}`,
    op: 'c',
    table: 'sales_order',
    key: { sales_order_id: n % 7 },
    before: null,
    after: { sales_order_id: n % 7, units_sold: n },
    source: { lsn: '0/100', commitLsn: '0/100', xid: 1, commitTs: '2024-01-01T00:00:00.000Z', snapshot: false },
    ...overrides,
  };
}

async function publishAll(publisher: EventPublisher, count: number) {
  for (let i = 0; i < count; i++) {
    const room = publisher.enqueue(changeEventFactory(i));
    if (room) await room;
  }
}

describe('EventPublisher', () => {
  it('batches ≤ maxBatchRecords, keeps WAL order, and reports durability to the tracker', async () => {
    const writer = new RecordingWriter();
    const tracker = new AckTracker();
    const publisher = new EventPublisher({ writer, tracker, logger: silentLogger, maxBatchRecords: 100, maxInFlightEvents: 250 });
    await publishAll(publisher, 1234);
    tracker.milestone(500n);
    await publisher.flush();
    expect(writer.events().map((e) => e.after!.units_sold)).toEqual([...Array(1234).keys()]);
    expect(writer.puts).toBe(13);
    expect(tracker.inFlight()).toBe(0);
    expect(tracker.confirmable()).toBe(500n);
    expect(writer.records[3].partitionKey).toBe('sales_order:3');
    publisher.close();
  });

  it('flushes a partial batch after flushIntervalMs', async () => {
    const writer = new RecordingWriter();
    const publisher = new EventPublisher({ writer, tracker: new AckTracker(), logger: silentLogger, flushIntervalMs: 20 });
    publisher.enqueue(changeEventFactory(1));
    await new Promise((r) => setTimeout(r, 80));
    expect(writer.records).toHaveLength(1);
    publisher.close();
  });

  it('group commit: with nothing being put, a batch goes out lingerMs after its first record, not after flushIntervalMs', async () => {
    const writer = new RecordingWriter();
    const publisher = new EventPublisher({ writer, tracker: new AckTracker(), logger: silentLogger, flushIntervalMs: 10_000, lingerMs: 2 });
    for (let i = 0; i < 3; i++) publisher.enqueue(changeEventFactory(i)); // one transaction, decoded in one go
    await new Promise((r) => setTimeout(r, 60));
    expect([writer.puts, writer.records.length]).toEqual([1, 3]); // one put with the whole transaction
    publisher.close();
  });

  it('group commit: records that arrive during a put go out together as soon as it is durable; a heavy stream still makes large batches', async () => {
    const batches: number[] = [];
    const writer = new (class extends RecordingWriter {
      override async put(records: readonly import('../../stream/change-stream.js').StreamRecord[]): Promise<void> {
        batches.push(records.length);
        return super.put(records);
      }
    })();
    writer.delayMs = 40; // a slow put (fsync)
    const publisher = new EventPublisher({ writer, tracker: new AckTracker(), logger: silentLogger, flushIntervalMs: 10_000, lingerMs: 2, maxInFlightEvents: 10_000 });
    publisher.enqueue(changeEventFactory(0));
    await new Promise((r) => setTimeout(r, 10)); // the first record's put is in flight
    for (let i = 1; i <= 200; i++) publisher.enqueue(changeEventFactory(i));
    await new Promise((r) => setTimeout(r, 150)); // well inside flushIntervalMs
    expect(batches).toEqual([1, 200]);
    expect(writer.events().map((e) => e.after!.units_sold)).toEqual([...Array(201).keys()]);
    publisher.close();
  });

  it('applies backpressure: never more than maxInFlightEvents outstanding', async () => {
    const writer = new RecordingWriter();
    writer.delayMs = 5;
    const tracker = new AckTracker();
    let maxSeen = 0;
    const publisher = new EventPublisher({ writer, tracker, logger: silentLogger, maxBatchRecords: 50, maxInFlightEvents: 120 });
    for (let i = 0; i < 600; i++) {
      const room = publisher.enqueue(changeEventFactory(i));
      maxSeen = Math.max(maxSeen, tracker.inFlight());
      if (room) await room;
    }
    await publisher.flush();
    expect(maxSeen).toBeLessThanOrEqual(120);
    expect(writer.records).toHaveLength(600);
  });

  it('retries a failed put with the same records in order (duplicates only with identical ids)', async () => {
    const writer = new RecordingWriter();
    writer.failNext = 2;
    const tracker = new AckTracker();
    const publisher = new EventPublisher({ writer, tracker, logger: silentLogger, maxBatchRecords: 10, retryBaseMs: 1 });
    await publishAll(publisher, 30);
    await publisher.flush();
    const ids = writer.events().map((e) => e.id);
    expect(new Set(ids).size).toBe(30);
    // per key, first occurrences are in order and every repeat is a replay of a prefix
    const lastIndex = new Map<string, number>();
    for (const e of writer.events()) {
      const n = e.after!.units_sold as number;
      const prev = lastIndex.get(e.table + e.key.sales_order_id) ?? -1;
      if (n < prev) expect(ids.indexOf(e.id)).toBeLessThan(ids.lastIndexOf(e.id)); // an identical-id replay
      lastIndex.set(e.table + e.key.sales_order_id, Math.max(prev, n));
    }
    expect(tracker.inFlight()).toBe(0);
  });

  it('fails for good on a permanent error and accepts nothing more', async () => {
    const writer = new RecordingWriter();
    writer.failNext = 1;
    writer.failWith = () => Object.assign(new Error('record too large'), { retryable: false });
    const tracker = new AckTracker();
    const publisher = new EventPublisher({ writer, tracker, logger: silentLogger, maxBatchRecords: 5 });
    for (let i = 0; i < 5; i++) publisher.enqueue(changeEventFactory(i));
    await expect(publisher.flush()).rejects.toThrow(/failed after 1 attempt/);
    expect(() => publisher.enqueue(changeEventFactory(9))).toThrow(/failed after 1 attempt/);
    expect(tracker.inFlight()).toBe(5);
  });
});
