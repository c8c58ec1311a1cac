/**
 * Classification of Kinesis failures: throttling (back off and retry, for a long time), transient
 * (5xx, network: retry a bounded number of times) or permanent (auth, missing stream, validation:
 * never retried).
 */
export type KinesisFailureKind = 'throttled' | 'transient' | 'permanent';

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException', 'KMSThrottlingException', 'TooManyRequestsException']);
const TRANSIENT = new Set(['InternalFailure', 'InternalFailureException', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalServerError', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

export function classifyKinesisError(error: unknown): KinesisFailureKind {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e?.name && THROTTLING.has(e.name)) return 'throttled';
  if ((e?.name && TRANSIENT.has(e.name)) || (e?.code && NETWORK_CODES.has(e.code))) return 'transient';
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return 'transient';
  if (e?.$retryable) return 'transient';
  if (status === undefined && e?.name !== undefined && /Error$/.test(e.name) && /socket|network|timed? ?out/i.test(String((error as Error).message))) return 'transient';
  return 'permanent';
}

/** Classification of a per-record ErrorCode in a PutRecords response. */
export function classifyRecordErrorCode(errorCode: string): KinesisFailureKind {
  if (THROTTLING.has(errorCode)) return 'throttled';
  if (errorCode === 'InternalFailure' || TRANSIENT.has(errorCode)) return 'transient';
  return 'permanent';
}

/** Full-jitter exponential backoff: uniform in [0, min(maxMs, baseMs * 2^attempt)]. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));
}
