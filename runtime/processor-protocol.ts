import type { ErrorCategory } from '../platform/errors.js';
import type { PipelineCounters } from './pipeline-counters.js';
import type { StageWorkerMessage } from './stage-thread.js';

/** Messages between `up`/`sync` and the stream processor on its worker thread (processor-thread.ts; the shared ones in stage-thread.ts). */
export type FromProcessor =
  | Exclude<StageWorkerMessage, { type: 'failed' }>
  /** After every durable batch: the worker's processor counters so far, whether it wrote a manifest, and the keys it wrote. */
  | { type: 'batch'; processor: PipelineCounters['processor']; manifest: boolean; manifestKeys?: string[] }
  /** A read found nothing: everything before it is processed and checkpointed (sync's drain). */
  | { type: 'idle' }
  /** The stage stopped cleanly (after `stop`): its final counters. */
  | { type: 'done'; processor: PipelineCounters['processor'] }
  /** The stage threw (what runProcessorStage would have thrown in process), after closing its consumer and state. */
  | { type: 'failed'; message: string; stack?: string; category: ErrorCategory; processor: PipelineCounters['processor'] };
