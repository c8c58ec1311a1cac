import { createLogger } from '../../platform/logger.js';
import { runCaptureProcess } from '../../capture/capture-process.js';
import { NdjsonFileWriter } from './ndjson-file-writer.js';

/**
 * Test-only capture process (same runCaptureProcess as capture/main.ts) writing to a fsynced NDJSON
 * file or the real local log. Env: CAPTURE_SOURCE_URL, CAPTURE_SLOT, CAPTURE_OUT (file or log dir),
 * CAPTURE_WRITER=ndjson|local-log, CAPTURE_HEARTBEAT_MS, CAPTURE_RESNAPSHOT_CHUNK_ROWS.
 */
const env = process.env;
const logger = createLogger({ service: 'capture', level: (env.TOTESYS_LOG_LEVEL as 'warn') ?? 'warn' });
const code = await runCaptureProcess({
  sourceUrl: env.CAPTURE_SOURCE_URL!,
  config: { capture: { slotName: env.CAPTURE_SLOT!, publicationName: env.CAPTURE_SLOT!, replicaIdentityFull: true, heartbeatIntervalMs: Number(env.CAPTURE_HEARTBEAT_MS ?? 1000) } },
  logger,
  slotBusyTimeoutMs: Number(env.CAPTURE_SLOT_BUSY_MS ?? 30_000),
  statusFile: env.CAPTURE_STATUS_FILE,
  resnapshotChunkRows: env.CAPTURE_RESNAPSHOT_CHUNK_ROWS ? Number(env.CAPTURE_RESNAPSHOT_CHUNK_ROWS) : undefined,
  openWriter: async () => {
    if (env.CAPTURE_WRITER === 'local-log') {
      const { openLocalLog } = await import('../../stream/local-log/local-log.js');
      return openLocalLog(env.CAPTURE_OUT!, { shards: 4 }).writer();
    }
    return new NdjsonFileWriter(env.CAPTURE_OUT!);
  },
});
process.exit(code);
