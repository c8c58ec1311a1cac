import fs from 'node:fs/promises';
import type { Config } from '../platform/config.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { defaultStatusFile, type CaptureStatus } from '../capture/reporting/capture-status.js';
import { readSlotStatus, type SlotStatus } from '../capture/control/slot-status.js';
import { readWarehouseStatus, type WarehouseStatus } from '../loader/warehouse-status.js';
import type { ShardLag } from '../stream/change-stream.js';
import { createChangeStreamConsumer } from '../stream/create-change-stream.js';
import { createObjectStore } from '../bucket/create-object-store.js';
import { summariseLocalQuarantine, type LocalQuarantineSummary } from './quarantine-summary.js';

/** The named stream consumers of the local pipeline (the processor and the archiver). */
export const CONSUMERS = { processor: 'stream-processor', archiver: 'archiver' } as const;

export interface ConsumerLag {
  consumer: string;
  records: number;
  maxAgeMs: number;
  shards: ShardLag[];
}

/** Everything `status` shows: each part is read independently so one failure does not hide the rest. */
export interface PipelineStatus {
  at: string;
  slot: SlotStatus | { error: string };
  capture: (CaptureStatus & { stale: boolean }) | null;
  stream: ConsumerLag[] | { error: string };
  warehouse: WarehouseStatus | { error: string };
  /**
   * Input the processor quarantined (processed bucket `quarantine/`); loader failures are in `warehouse`.
   * Only when asked for (`status` does): it lists the quarantine, too much for the dashboard's per-second samples.
   */
  quarantine?: LocalQuarantineSummary | { error: string };
}

export function captureStatusFile(config: Config): string {
  return defaultStatusFile(config.stateDir);
}

export async function readPipelineStatus(
  config: Config,
  urls: { sourceUrl: string; warehouseUrl: string },
  logger: Logger,
  options: { quarantine?: boolean } = {},
): Promise<PipelineStatus> {
  const [slot, capture, stream, warehouse, quarantine] = await Promise.all([
    settle(() => readSlotStatus(urls.sourceUrl, config.capture.slotName, config.capture.publicationName)),
    readCaptureStatusFile(captureStatusFile(config)),
    settle(() => readConsumerLags(config, logger)),
    settle(() => readWarehouseStatus(urls.warehouseUrl, config.warehouseSchema)),
    options.quarantine ? settle(() => summariseLocalQuarantine(createObjectStore(config, 'processed'))) : undefined,
  ]);
  return { at: new Date().toISOString(), slot, capture, stream, warehouse, ...(quarantine ? { quarantine } : {}) };
}

export async function readCaptureStatusFile(file: string): Promise<(CaptureStatus & { stale: boolean }) | null> {
  try {
    const status = JSON.parse(await fs.readFile(file, 'utf8')) as CaptureStatus;
    // The capture rewrites its file every ~2 s; older than 30 s means it is not running.
    const stale = Date.now() - Date.parse(status.updatedAt) > 30_000 || ['stopped', 'failed'].includes(status.phase);
    return { ...status, stale };
  } catch {
    return null;
  }
}

async function readConsumerLags(config: Config, logger: Logger): Promise<ConsumerLag[]> {
  const lags: ConsumerLag[] = [];
  for (const name of Object.values(CONSUMERS)) {
    const consumer = await createChangeStreamConsumer(config, name, logger);
    try {
      const shards = await consumer.lag();
      lags.push({
        consumer: name,
        records: shards.reduce((sum, s) => sum + s.records, 0),
        maxAgeMs: Math.max(0, ...shards.map((s) => s.ageMs)),
        shards,
      });
    } finally {
      await consumer.close();
    }
  }
  return lags;
}

async function settle<T>(read: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await read();
  } catch (error) {
    return { error: errorMessage(error) };
  }
}
