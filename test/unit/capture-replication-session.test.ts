import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn } from '../../contracts/lsn.js';
import { ReplicationSession, type SessionOptions } from '../../capture/replication/replication-session.js';
import { CaptureStats } from '../../capture/reporting/capture-status.js';
import { silentLogger } from '../../platform/logger.js';
import { FakeReplicationStream } from '../support/fake-replication-stream.js';
import { GatedWriter } from '../support/gated-writer.js';
import { waitFor } from '../support/wait-for.js';

const RESUME = parseLsn('0/1000');

function newSession(options: Partial<SessionOptions> = {}) {
  const stream = new FakeReplicationStream();
  const writer = new GatedWriter();
  const session = new ReplicationSession({
    stream,
    writer,
    logger: silentLogger,
    stats: new CaptureStats('cap', 'cap'),
    resumeFrom: RESUME,
    publisher: { flushIntervalMs: 1 },
    ...options,
  });
  return { stream, writer, session };
}

/** A session running against a stream whose replication has started; `stop` stops it and resolves to its end. */
function runningSession(options: Partial<SessionOptions> = {}) {
  const { stream, writer, session } = newSession(options);
  const running = session.run();
  stream.replicationStarted();
  const stop = async () => {
    await session.stop();
    return running;
  };
  return { stream, writer, session, running, stop };
}

/**
 * ReplicationSession against the replication port (docs/capture-spec.md D1, D5, D6, T1), with an
 * in-memory stream in place of Postgres: what it acknowledges, when it pauses and how it stops.
 */
describe('replication session', () => {
  it('a session stopped before it runs ends at once, without connecting', async () => {
    const { stream, session } = newSession({ resumeFrom: 42n });
    await session.stop();
    expect(await session.run()).toEqual({ reason: 'stopped', confirmed: 42n });
    expect(session.hasStarted).toBe(false);
    expect(stream.calls).not.toContain('start');
  });

  it('D5: starts at the slot position (0/0) and reports the resume position from its first status on', async () => {
    const { stream, session } = newSession();
    const running = session.run();
    expect(stream.startedFrom).toBe(0n);
    stream.replicationStarted();
    expect(stream.acknowledged).toEqual([RESUME]);
    await session.stop();
    await running;
  });

  it('D1: confirms a commit only once its events are durable in the stream', async () => {
    const { stream, writer, session, stop } = runningSession();
    writer.shut();
    const { commitEndLsn } = stream.transaction('0/2000', [1, 2, 3]);
    await new Promise((r) => setTimeout(r, 30));
    expect(stream.confirmed).toBe(RESUME);
    expect(session.confirmed).toBe(RESUME);
    writer.release();
    await waitFor(() => stream.confirmed === parseLsn(commitEndLsn), { what: 'the commit confirmed', timeoutMs: 2_000 });
    expect(writer.ids()).toEqual(['0/2000/0', '0/2000/1', '0/2000/2']);
    expect(await stop()).toEqual({ reason: 'stopped', confirmed: parseLsn(commitEndLsn) });
  });

  it('D4: skips a transaction that committed before the resume position', async () => {
    const { stream, writer, stop } = runningSession();
    stream.transaction('0/F00', [1]);
    const { commitEndLsn } = stream.transaction('0/2000', [2]);
    await waitFor(() => stream.confirmed === parseLsn(commitEndLsn), { what: 'the second commit confirmed', timeoutMs: 2_000 });
    expect(writer.ids()).toEqual(['0/2000/0']);
    await stop();
  });

  it('D6: a keepalive confirms its WAL end only when no transaction is open', async () => {
    const { stream, stop } = runningSession();
    stream.send('0/1800', { tag: 'begin', commitLsn: '0/1900', commitTime: 1_700_000_000_000_000n, xid: 9 });
    stream.keepalive('0/3000');
    expect(stream.confirmed).toBe(RESUME);
    stream.send('0/1900', { tag: 'commit', commitLsn: '0/1900', commitEndLsn: '0/1930' });
    expect(stream.confirmed).toBe(parseLsn('0/1930'));
    stream.keepalive('0/3000');
    expect(stream.confirmed).toBe(parseLsn('0/3000'));
    await stop();
  });

  it('T1: a stop publishes what is queued, confirms it, and only then disconnects', async () => {
    const { stream, writer, session, running } = runningSession();
    writer.shut();
    const { commitEndLsn } = stream.transaction('0/2000', [1, 2]);
    const stopping = session.stop();
    await new Promise((r) => setTimeout(r, 30));
    expect(stream.calls).not.toContain('stop');
    writer.release();
    await stopping;
    const ack = stream.calls.indexOf(`ack ${formatLsn(parseLsn(commitEndLsn))}`);
    expect(ack).toBeGreaterThan(-1);
    expect(ack).toBeLessThan(stream.calls.indexOf('stop'));
    expect(await running).toEqual({ reason: 'stopped', confirmed: parseLsn(commitEndLsn) });
  });

  it('pauses reading while the publisher is full and resumes in WAL order once there is room', async () => {
    const { stream, writer, session, stop } = runningSession({ publisher: { flushIntervalMs: 1, maxBatchRecords: 1, maxInFlightEvents: 2 } });
    writer.shut();
    const { commitEndLsn } = stream.transaction('0/2000', [1, 2, 3, 4, 5]);
    expect(stream.paused).toBe(true);
    expect(session.receivedMessages).toBe(7);
    writer.release();
    await waitFor(() => stream.confirmed === parseLsn(commitEndLsn), { what: 'the commit confirmed', timeoutMs: 2_000 });
    expect(stream.paused).toBe(false);
    expect(writer.ids()).toEqual([0, 1, 2, 3, 4].map((n) => `0/2000/${n}`));
    await stop();
  });

  it('ends with the error when the connection fails, and disconnects', async () => {
    const { stream, running } = runningSession();
    stream.fail(new Error('connection reset'));
    const end = await running;
    expect(end).toMatchObject({ reason: 'error', confirmed: RESUME });
    expect(stream.calls).toContain('stop');
    expect(stream.calls.at(-1)).toBe('destroy');
  });
});
