import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { silentLogger } from '../../platform/logger.js';
import { ReplayError, replay, type ReplayProgress } from '../../replay/replay.js';
import { archivedWorkload, ingestionBucketWith, replayTarget, workloadWithUnstorableValue } from '../support/archive-workload.js';
import { useWarehouseTestbed } from '../support/warehouse-testbed.js';

/**
 * A replay into the live schema (no --rebuild): the same lane as a rebuild, on the calling thread,
 * with the incremental loader as its load sink (replay/process/load-sink.ts LiveSchemaSink).
 */
describe('replay into the live schema', () => {
  const testbed = useWarehouseTestbed('replay_live_schema');

  it('fails as retryable when another loader keeps the schema lock past the wait; once it is free, loads everything', async () => {
    const { client } = testbed;
    const { events, ingestion } = await archivedWorkload(testbed.dir, 600, 100);

    // The live loader's lock on `star` (loader/run-loader.ts: class 0x70ad, key hashtext(schema)).
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x70ad, 'star']);
    // A session that holds the lock and never lets go (not a draining loader, which would): the wait times out.
    const locked = await replay({ ...replayTarget(testbed, 'processed-locked'), ingestion, batchSize: 150, lockWaitMs: 500 }).catch((error: unknown) => error);
    expect(locked).toBeInstanceOf(ReplayError);
    expect((locked as ReplayError).retryable).toBe(true);
    expect((locked as ReplayError).message).toMatch(/another loader holds the lock on schema star/);
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [0x70ad, 'star']);

    const progress: ReplayProgress[] = [];
    const summary = await replay({ ...replayTarget(testbed), ingestion, batchSize: 150, lanes: 2, onProgress: (p) => progress.push(p) });
    expect(summary).toMatchObject({ lanes: 1, partial: false, eventsReplayed: events.length, loadSchema: 'star', swap: null, loadFailures: [] });
    expect(summary.manifests).toBe(4);
    expect(summary.rowsLoaded).toBeGreaterThan(0);
    expect(progress.filter((p) => p.phase === 'load').at(-1)).toMatchObject({ done: 4, total: 4 });
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM star.load_ledger');
    expect(rows[0]!.n).toBe(4);
  });

  it('an event with a value the warehouse cannot store (NUL) is quarantined alone at processing; every manifest loads', async () => {
    // Before issue 17 point 3 the NUL reached COPY and the warehouse rejected its whole manifest.
    const { db, dir, client } = testbed;
    const events = workloadWithUnstorableValue(600);
    const ingestion = await ingestionBucketWith(dir, events, 100, 'ingestion-poisoned');
    const processed = new LocalDirObjectStore(path.join(dir, 'processed-poisoned'));
    // Another schema: the first test's ledger in `star` already holds these batches (same event ids).
    const summary = await replay({ ingestion, processed, warehouseUrl: db.url, logger: silentLogger, batchSize: 150, schema: 'star_poisoned' });
    expect(summary.eventsReplayed).toBe(events.length);
    expect(summary.loadFailures).toEqual([]);
    const quarantined: string[] = [];
    for await (const object of processed.list(summary.processedPrefix)) if (object.key.includes('/quarantine/')) quarantined.push(object.key);
    expect(quarantined).toHaveLength(1);
    const entry = JSON.parse(Buffer.from(await processed.get(quarantined[0]!)).toString('utf8'));
    expect(entry).toMatchObject({ reason: 'invalid-value', error: expect.stringMatching(/design_name.*NUL/) });
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM star_poisoned.dim_design WHERE design_name LIKE 'bad%'");
    expect(rows[0]!.n).toBe(0);
  });
});
