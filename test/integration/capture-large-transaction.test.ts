import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSlotStatus } from '../../capture/control/slot-status.js';
import { withClient } from '../support/postgres.js';
import { peakRssBytes, spawnCaptureChild } from '../support/capture-child-process.js';
import { INSERT_SALES_ORDERS } from '../support/totesys-source.js';
import { waitFor } from '../support/wait-for.js';
import { waitForCaptureToCatchUp } from '../support/capture-catch-up.js';
import { useCaptureSource } from '../support/capture-source.js';

// 200k rows keeps `npm test` fast; the 1M-row case runs in bench/capture.ts.
const ROWS = 200_000;

describe('capture: one large transaction', () => {
  const source = useCaptureSource('capture large txn', { tempDir: true });

  it(`streams a ${ROWS}-row INSERT…SELECT with bounded memory (peak RSS ≤ 256 MB)`, async () => {
    const out = path.join(source.dir, 'events.ndjson');
    const run = spawnCaptureChild({ CAPTURE_SOURCE_URL: source.url, CAPTURE_SLOT: 'cap_big', CAPTURE_OUT: out, CAPTURE_HEARTBEAT_MS: '1000' });
    try {
      await waitFor(async () => (await readSlotStatus(source.url, 'cap_big', 'cap_big')).snapshot === 'complete', { what: 'snapshot', timeoutMs: 60_000 }).catch((e) => { throw new Error(e.message + run.stderr()); });
      // Foreign-key triggers would make the INSERT itself take ~20 s; WAL and decoding are unchanged.
      await withClient(source.url, async (c) => {
        await c.query('BEGIN');
        await c.query('SET LOCAL session_replication_role = replica');
        await c.query(INSERT_SALES_ORDERS, [ROWS]);
        await c.query('COMMIT');
      });
      const insertedAt = Date.now();
      let peak = 0;
      await waitForCaptureToCatchUp(source.url, { slotName: 'cap_big', publicationName: 'cap_big' }, {
        what: 'the large transaction to be confirmed',
        timeoutMs: 45_000,
        intervalMs: 200,
        onPoll: () => (peak = Math.max(peak, peakRssBytes(run.child.pid!) ?? 0)),
      });
      const captureMs = Date.now() - insertedAt;
      peak = Math.max(peak, peakRssBytes(run.child.pid!) ?? 0);
      run.child.kill('SIGTERM');
      expect(await run.exited, run.stderr()).toBe(0);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(256 * 1024 * 1024);

      const text = await fs.readFile(out, 'utf8');
      let created = 0;
      let lastIndex = -1;
      let commitLsn: string | undefined;
      for (const line of text.split('\n')) {
        if (!line.includes('"op":"c"')) continue;
        const event = JSON.parse(line);
        commitLsn ??= event.source.commitLsn;
        expect(event.source.commitLsn).toBe(commitLsn);
        const index = Number(event.id.split('/').pop());
        expect(index).toBe(lastIndex + 1); // in transaction order, no gap, no duplicate
        lastIndex = index;
        created++;
      }
      expect(created).toBe(ROWS);
      console.log(`large transaction: ${ROWS} rows confirmed ${captureMs} ms after commit, capture peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 75_000); // ~17 s alone; leaves room when the 2 cores are shared with other test files
});
