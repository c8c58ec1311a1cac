import type { Config } from '../platform/config.js';
import type { ErrorCategory } from '../platform/errors.js';
import type { PipelineCounters } from './pipeline-counters.js';

/** Messages between `up`/`sync` and the stream processor on its worker thread (processor-thread.ts). */
export interface ProcessorWorkerData {
  config: Readonly<Config>;
  /** The parent logger's bound fields are added by the parent; the worker only sends level, message, fields. */
  logLevel: Config['logLevel'];
}

export type ToProcessor = { type: 'stop' };

export type FromProcessor =
  /** A JSON log line of the worker's logger, re-emitted by the parent's logger. */
  | { type: 'log'; line: string }
  /** After every durable batch: the worker's processor counters so far, whether it wrote a manifest, and the keys it wrote. */
  | { type: 'batch'; processor: PipelineCounters['processor']; manifest: boolean; manifestKeys?: string[] }
  /** A read found nothing: everything before it is processed and checkpointed (sync's drain). */
  | { type: 'idle' }
  /** The stage stopped cleanly (after `stop`): its final counters. */
  | { type: 'done'; processor: PipelineCounters['processor'] }
  /** The stage threw (what runProcessorStage would have thrown in process), after closing its consumer and state. */
  | { type: 'failed'; message: string; stack?: string; category: ErrorCategory; processor: PipelineCounters['processor'] };
