import { PipelineError } from '../platform/errors.js';

/**
 * Why one manifest could not be loaded. All are permanent for the manifest's current content (a
 * retry only helps if someone repairs the bucket), so they are recorded in load_failures and
 * retried a bounded number of times with backoff, never in a tight loop.
 */
export class ManifestInvalidError extends PipelineError {
  constructor(readonly manifestKey: string, reason: string, options: { cause?: unknown } = {}) {
    super(`manifest ${manifestKey} is invalid: ${reason}`, { retryable: false, cause: options.cause });
  }
}

export class ManifestFileMissingError extends PipelineError {
  constructor(readonly manifestKey: string, readonly file: string, options: { cause?: unknown } = {}) {
    super(`manifest ${manifestKey}: file ${file} is missing from the processed bucket`, { retryable: false, cause: options.cause });
  }
}

export class ManifestFileCorruptError extends PipelineError {
  constructor(readonly manifestKey: string, readonly file: string, reason: string, options: { cause?: unknown } = {}) {
    super(`manifest ${manifestKey}: file ${file} is corrupt: ${reason}`, { retryable: false, cause: options.cause });
  }
}

/** Postgres refused the manifest's rows (constraint, type): the whole manifest was rolled back. */
export class ManifestRejectedError extends PipelineError {
  constructor(readonly manifestKey: string, readonly table: string, reason: string, options: { cause?: unknown } = {}) {
    super(`manifest ${manifestKey}: ${table} rejected by the warehouse: ${reason}`, { retryable: false, cause: options.cause });
  }
}

export class WarehouseSecretError extends PipelineError {
  constructor(readonly secretArn: string, reason: string, options: { cause?: unknown } = {}) {
    super(`warehouse secret ${secretArn}: ${reason}`, { retryable: false, cause: options.cause });
  }
}
