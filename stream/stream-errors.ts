import { PipelineError, UserError } from '../platform/errors.js';

/** A record the stream can never accept (too large, bad partition key): retrying cannot help. */
export class RecordRejectedError extends PipelineError {
  constructor(
    message: string,
    readonly partitionKey: string,
  ) {
    super(message, { retryable: false });
  }
}

/** Writing to the stream failed for a reason that may pass (throttling, I/O, network). */
export class StreamWriteError extends PipelineError {
  constructor(
    message: string,
    readonly shardId: string | undefined,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
  }
}

export class StreamReadError extends PipelineError {
  constructor(
    message: string,
    readonly shardId: string | undefined,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The local log already has a live writer (exactly one writer process at a time). */
export class StreamLockedError extends UserError {
  constructor(
    readonly lockFile: string,
    readonly ownerPid: number,
  ) {
    super(`the local stream log is already open for writing by process ${ownerPid} (lock ${lockFile}); stop that process first`);
  }
}

export class InvalidConsumerNameError extends UserError {
  constructor(readonly consumerName: string) {
    super(`invalid consumer name ${JSON.stringify(consumerName)}: use 1-100 characters a-z A-Z 0-9 . _ - (not starting with .)`);
  }
}

const CONSUMER_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

export function assertConsumerName(name: string): void {
  if (!CONSUMER_NAME.test(name)) throw new InvalidConsumerNameError(name);
}
