import { errorMessage, UserError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { ChangeStreamWriter } from '../stream/change-stream.js';
import { runCapture, type RunCaptureOptions } from './run-capture.js';

/**
 * Runs capture as a process: SIGTERM/SIGINT stop reading, flush, confirm what is durable and exit
 * 0; a permanent error exits 1 once with a clear message (no crash loop: the container or the
 * parent decides whether to start it again). Shared by capture/main.ts and test entries.
 */
export async function runCaptureProcess(
  options: Omit<RunCaptureOptions, 'signal' | 'writer'> & { openWriter: () => Promise<ChangeStreamWriter>; logger: Logger },
): Promise<number> {
  const { logger } = options;
  const abort = new AbortController();
  const onSignal = (signal: string) => {
    logger.info('stopping capture', { signal });
    abort.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  let writer: ChangeStreamWriter | undefined;
  try {
    writer = await options.openWriter();
    const result = await runCapture({ ...options, writer, signal: abort.signal });
    logger.info('capture stopped', { ...result });
    return 0;
  } catch (error) {
    logger.error(error instanceof UserError ? errorMessage(error) : 'capture failed', {
      error,
      retryable: (error as { retryable?: boolean }).retryable ?? false,
    });
    return 1;
  } finally {
    await writer?.close().catch((error) => logger.warn('closing the stream writer failed', { error }));
  }
}
