import { PipelineError, UserError } from '../platform/errors.js';

/** Another process streams from the slot (SQLSTATE 55006): only one capture per slot may run. */
export class SlotInUseError extends UserError {
  constructor(
    readonly slotName: string,
    readonly activePid: number | null,
    options: { cause?: unknown } = {},
  ) {
    super(
      `replication slot "${slotName}" is in use by another process${activePid ? ` (backend pid ${activePid})` : ''}; ` +
        'stop the other capture (or wait for it to exit) and start again',
      options,
    );
  }
}

/** The publication exists but cannot be used as is (e.g. FOR ALL TABLES, owned by someone else). */
export class PublicationSetupError extends UserError {
  constructor(
    message: string,
    readonly publicationName: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** A pgoutput message the capture cannot turn into events (protocol or schema surprise). */
export class DecodeError extends PipelineError {
  constructor(
    message: string,
    readonly lsn: string | undefined,
    readonly table: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, { retryable: false, cause: options.cause });
  }
}

/** Publishing to the change stream failed for good (after retries, or a permanent rejection). */
export class PublishError extends PipelineError {
  constructor(
    message: string,
    readonly firstEventId: string | undefined,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
  }
}
