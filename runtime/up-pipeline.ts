import type { Config } from '../platform/config.js';
import { errorMessage, isRetryable } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { ensureWarehouseSchema } from '../loader/warehouse-schema.js';
import { ManifestWake } from '../loader/manifest-wake.js';
import { runSimulator } from '../totesys/simulator/run-simulator.js';
import { seedTotesys } from '../totesys/generator/seed-totesys.js';
import { superviseCapture } from './capture-child.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { runArchiverStage, runLoaderStage } from './local-stages.js';
import { runProcessorStageOnThread } from './processor-thread.js';
import { newCounters, type PipelineCounters } from './pipeline-counters.js';
import { prepareSourceSchema, sourceIsEmpty } from './source-setup.js';

export interface UpOptions {
  config: Readonly<Config>;
  sourceUrl: string;
  warehouseUrl: string;
  /** totesys is the embedded database: its schema may be created and it is seeded when empty. */
  embeddedSource: boolean;
  logger: Logger;
  signal: AbortSignal;
  simulate: { ratePerSecond: number; seed: number } | null;
  seed: { scale: number; seed: number };
  onSeedProgress?: (progress: { table: string; rows: number; totalRows: number }) => void;
  /** The counters the stages add to (default: new ones); the dashboard passes its own to watch from the start. */
  counters?: PipelineCounters;
  /** Called once every stage runs, with the counters the view reads. */
  onRunning?: (counters: PipelineCounters) => void;
  /** Where the capture child's log lines go (default stderr). */
  captureOutput?: NodeJS.WritableStream;
}

/**
 * `up`: the whole pipeline on one machine until the signal aborts: capture as a child process,
 * the processor on a worker thread (its own core, processor-thread.ts), archiver and loader in
 * process, and the workload simulator changing totesys.
 * The first stage that fails permanently stops all the others (nothing runs half-wired).
 */
export async function runUpPipeline(options: UpOptions): Promise<PipelineCounters> {
  const { config, logger, sourceUrl, warehouseUrl } = options;
  await prepareSourceSchema(sourceUrl, options.embeddedSource || config.createSourceSchema);
  if (options.embeddedSource && (await sourceIsEmpty(sourceUrl))) {
    logger.info('seeding the embedded totesys', options.seed);
    await seedTotesys(sourceUrl, { ...options.seed, applySchema: false, logger, signal: options.signal, onProgress: options.onSeedProgress });
  }
  await ensureWarehouseSchema({ warehouseUrl, schema: config.warehouseSchema, logger });
  const counters = options.counters ?? newCounters();
  if (options.signal.aborted) return counters;

  const stop = new AbortController();
  options.signal.addEventListener('abort', () => stop.abort(), { once: true });
  let failure: unknown;
  const guard = (name: string, run: Promise<unknown>) =>
    run.catch((error) => {
      failure ??= error;
      logger.error(`${name} failed; stopping the pipeline`, { error: errorMessage(error) });
      stop.abort();
    });
  // The processor tells the loader of every manifest it writes: loaded at once, not at the next tick.
  const wake = new ManifestWake();
  const stages = [
    guard('capture', superviseCapture({ config, sourceUrl, logger: logger.child({ stage: 'capture' }), signal: stop.signal, output: options.captureOutput })),
    guard('processor', runProcessorStageOnThread(config, logger.child({ stage: 'processor' }), stop.signal, counters, wake)),
    guard('archiver', runArchiverStage(config, logger.child({ stage: 'archiver' }), stop.signal, counters)),
    guard('loader', runLoaderStage(config, warehouseUrl, logger.child({ stage: 'loader' }), stop.signal, counters, wake)),
  ];
  if (options.simulate) stages.push(guard('simulator', runSimulatorStage(sourceUrl, options.simulate, logger.child({ stage: 'simulator' }), stop.signal, counters)));
  options.onRunning?.(counters);
  await Promise.all(stages);
  if (failure) throw failure;
  return counters;
}

async function runSimulatorStage(
  sourceUrl: string,
  simulate: { ratePerSecond: number; seed: number },
  logger: Logger,
  signal: AbortSignal,
  counters: PipelineCounters,
): Promise<void> {
  // Each restart continues the deterministic sequence with the next seed, so it never repeats itself.
  for (let round = 0; !signal.aborted; round++) {
    try {
      await runSimulator(sourceUrl, {
        ratePerSecond: simulate.ratePerSecond,
        seed: simulate.seed + round,
        signal,
        logger,
        onChange: (change) => {
          counters.simulator.changes++;
          counters.simulator.byKind[change.kind] = (counters.simulator.byKind[change.kind] ?? 0) + 1;
        },
      });
    } catch (error) {
      if (!isRetryable(error)) throw error;
      logger.warn('simulated change failed; continuing', { error: errorMessage(error) });
      await abortableDelay(1_000, signal);
    }
  }
}
