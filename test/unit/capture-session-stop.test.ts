import { describe, expect, it } from 'vitest';
import { CaptureStats } from '../../capture/reporting/capture-status.js';
import { ReplicationSession } from '../../capture/replication/replication-session.js';
import { silentLogger } from '../../platform/logger.js';
import { RecordingWriter } from '../support/capture-recorder.js';

describe('replication session stop', () => {
  it('a session stopped before it runs ends at once, without connecting', async () => {
    const session = new ReplicationSession({
      // Nothing listens here: a connection attempt would fail (or hang) instead of ending cleanly.
      connectionString: 'postgresql://nobody@127.0.0.1:1/none',
      slotName: 'cap',
      publicationName: 'cap',
      writer: new RecordingWriter(),
      logger: silentLogger,
      stats: new CaptureStats('cap', 'cap'),
      resumeFrom: 42n,
    });
    await session.stop();
    expect(await session.run()).toEqual({ reason: 'stopped', confirmed: 42n });
    expect(session.hasStarted).toBe(false);
  });
});
