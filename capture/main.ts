import { loadConfig } from '../platform/config.js';
import { ConfigError, errorMessage } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { createChangeStreamWriter } from '../stream/create-change-stream.js';
import type { Config } from '../platform/config.js';
import { runCaptureProcess } from './capture-process.js';
import { defaultStatusFile } from './reporting/capture-status.js';
import { shardMapFromConfig } from './publish/watermark-shard-map.js';

/**
 * The capture process: what the Fargate task runs and what `totesys-cdc up` spawns locally.
 * Configuration comes from the environment (platform/config.ts): TOTESYS_SOURCE_URL, or in AWS the
 * secret's fields TOTESYS_SOURCE_HOST/PORT/DB/USER/PASSWORD; also TOTESYS_CAPTURE_STATUS_FILE,
 * TOTESYS_METRICS=emf and, from `up`, TOTESYS_PARENT_PID.
 */
async function main(): Promise<number> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
    if (!config.sourceUrl) throw new ConfigError('capture needs the source database: set TOTESYS_SOURCE_URL, or the TOTESYS_SOURCE_HOST/PORT/DB/USER/PASSWORD fields');
  } catch (error) {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', service: 'capture', message: errorMessage(error) }) + '\n');
    return 1;
  }
  // Started by `totesys-cdc up` in its own process group (so a terminal's Ctrl-C reaches only the
  // parent, which then stops us cleanly): if that parent dies without stopping us, stop on our own
  // rather than keep holding the slot and the stream log.
  const parentPid = config.captureProcess.parentPid;
  if (parentPid) {
    setInterval(() => {
      if (process.ppid !== parentPid) process.kill(process.pid, 'SIGTERM');
    }, 1_000).unref();
  }
  const logger = createLogger({ service: 'capture', level: config.logLevel });
  return runCaptureProcess({
    sourceUrl: config.sourceUrl,
    config,
    logger,
    statusFile: config.captureProcess.statusFile ?? defaultStatusFile(config.stateDir),
    metrics: config.captureProcess.metrics,
    openWriter: () => createChangeStreamWriter(config, logger),
    shardMap: shardMapFromConfig(config),
  });
}


main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`capture crashed: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
