import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTotesys } from '../../totesys/generator/seed-totesys.js';
import { runSimulator } from '../../totesys/simulator/run-simulator.js';
import { createTestDatabase, type TestDatabase, withAdmin } from '../support/postgres.js';

/**
 * Issue 14 item 7, the simulator's part: a dropped connection (server restart, failover,
 * pg_terminate_backend) costs the change in flight, never the run: it reconnects with backoff and
 * carries on. (Before, the run ended with `simulated change #N failed: … connection was lost`.)
 */
describe('simulator reconnects after a lost connection', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('simulator reconnect');
    await seedTotesys(db.url, { scale: 0.01, seed: 3 });
  });
  afterAll(async () => db?.drop());

  it('keeps changing the source through terminated backends', async () => {
    let changes = 0;
    const run = runSimulator(db.url, { ratePerSecond: 200, durationMs: 4_000, seed: 11, onChange: () => changes++ });
    const terminated: number[] = [];
    const changesAtTermination: number[] = [];
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      changesAtTermination.push(changes);
      const { rows } = await withAdmin((c) =>
        c.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name = 'totesys-simulator'`, [db.name]),
      );
      terminated.push(rows.length);
    }
    const summary = await run;
    expect(terminated, 'a simulator backend was there to terminate each time').toEqual([1, 1]);
    expect(summary.stoppedBy).toBe('duration');
    expect(summary.changes).toBe(changes);
    // Changes before the first termination, between the two, and after the last one.
    expect(changesAtTermination[0]).toBeGreaterThan(0);
    expect(changesAtTermination[1]).toBeGreaterThan(changesAtTermination[0]);
    expect(summary.changes).toBeGreaterThan(changesAtTermination[1]);
  });
});
