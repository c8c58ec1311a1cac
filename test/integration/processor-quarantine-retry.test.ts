import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { partitionKeyOf, serializeChangeEvent } from '../../contracts/change-event.js';
import { loadConfig } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { runProcessorStage } from '../../runtime/local-stages.js';
import { newCounters } from '../../runtime/pipeline-counters.js';
import { createChangeStreamWriter } from '../../stream/create-change-stream.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue 14 (leftover 3): a processor batch that quarantines events and then fails (here: its
 * manifest cannot be written) is rewound and retried; the retry quarantines the same events again
 * under the same keys. `up`/`sync` must count each quarantined event once, not once per attempt.
 */
describe('processor stage: quarantines of a retried batch are counted once', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('a batch whose first attempts fail after quarantining counts its poison record once', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quarantine-retry-'));
    const config = loadConfig({ stateDir: dir, logLevel: 'silent' }, {});
    const writer = await createChangeStreamWriter(config, silentLogger);
    const good = changeEvent('currency', 'c', sourceRow.currency({ currency_id: 7 }));
    await writer.put([
      { partitionKey: 'currency:6', data: Buffer.from('{"v":1,"this is": not json') },
      { partitionKey: partitionKeyOf(good), data: Buffer.from(serializeChangeEvent(good)) },
    ]);
    await writer.close();

    // A file where the manifests folder belongs: the quarantine and Parquet writes succeed, the
    // manifest write fails, so the batch fails after its quarantine was counted.
    const manifests = path.join(config.paths.processedDir, 'manifests');
    await fs.mkdir(config.paths.processedDir, { recursive: true });
    await fs.writeFile(manifests, 'blocks the manifest folder');

    const counters = newCounters();
    const abort = new AbortController();
    const failures: string[] = [];
    const logger = { ...silentLogger, child: () => logger, warn: (message: string) => void failures.push(message), error: (message: string) => void failures.push(message) } as typeof silentLogger;
    const stage = runProcessorStage(config, logger, abort.signal, counters);
    try {
      await waitFor(() => failures.filter((m) => m.includes('batch failed')).length >= 2, { timeoutMs: 20_000 });
      await fs.rm(manifests);
      await waitFor(() => counters.processor.batches >= 1, { timeoutMs: 20_000 });
    } finally {
      abort.abort();
      await stage;
    }
    expect(counters.processor.events).toBe(1);
    expect(counters.processor.quarantined, 'the poison record, quarantined by three attempts, counts once').toBe(1);
  }, 60_000);
});
