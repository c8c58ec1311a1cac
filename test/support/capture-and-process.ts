import { runCapture, type CaptureResult } from '../../capture/run-capture.js';
import { createObjectStore } from '../../bucket/create-object-store.js';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { captureStatusFile, CONSUMERS } from '../../runtime/pipeline-status.js';
import { currentWalLsn, waitUntilDrained } from '../../runtime/sync-pipeline.js';
import { runLocalProcessor } from '../../stream-processors/local-processor.js';
import { createJoinStateStore } from '../../stream-processors/state/create-state-store.js';
import { createChangeStreamConsumer, createChangeStreamWriter } from '../../stream/create-change-stream.js';

/**
 * `sync` without its loader stage: capture up to the source's current WAL position, then run the
 * stream processor (as the `stream-processor` consumer, so a later `sync` resumes after it) until
 * it has nothing left. Leaves a backlog of manifests in the processed bucket that nobody loaded.
 * Small `maxBatchRecords` → many small manifests, so a loader has many transactions to be killed in.
 */
export async function captureAndProcess(options: {
  config: Readonly<Config>;
  sourceUrl: string;
  logger: Logger;
  maxBatchRecords: number;
  timeoutMs?: number;
}): Promise<{ capture: CaptureResult; manifests: number; events: number; quarantined: number }> {
  const { config, sourceUrl, logger } = options;
  const stopAtLsn = await currentWalLsn(sourceUrl);
  const writer = await createChangeStreamWriter(config, logger);
  let capture: CaptureResult;
  try {
    capture = await runCapture({ sourceUrl, config, writer, logger, stopAtLsn, statusFile: captureStatusFile(config) });
  } finally {
    await writer.close();
  }

  const consumer = await createChangeStreamConsumer(config, CONSUMERS.processor, logger);
  const state = await createJoinStateStore(config, logger);
  const stop = new AbortController();
  let manifests = 0;
  let events = 0;
  let quarantined = 0;
  const processor = runLocalProcessor({
    consumer,
    state,
    processed: createObjectStore(config, 'processed'),
    logger,
    signal: stop.signal,
    maxBatchRecords: options.maxBatchRecords,
    maxWaitMs: 100,
    onBatch: (result) => {
      manifests += result.manifest ? 1 : 0;
      events += result.events;
      quarantined += result.quarantined;
    },
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the processor did not drain within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([waitUntilDrained(config, logger, [CONSUMERS.processor], processor, { pollIntervalMs: 50 }), timeout]);
  } finally {
    clearTimeout(timer);
    stop.abort();
    await processor.catch(() => undefined);
    await state.close();
    await consumer.close();
  }
  return { capture, manifests, events, quarantined };
}

