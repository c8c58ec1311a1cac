/**
 * Errors carry their category. `retryable` errors (connection refused, throttling, a restarting
 * Postgres) are retried with backoff; permanent ones (bad credentials, bad config, poison input) are
 * reported once and never retried, so a misconfiguration never turns into a crash loop.
 */
export class PipelineError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable;
  }
}

/** A mistake the user can fix (bad flag, wrong URL, unreachable database): printed without a stack. */
export class UserError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, cause: options.cause });
  }
}

export class ConfigError extends UserError {}

export class AuthenticationError extends UserError {}

/** Postgres SQLSTATEs and socket codes that say "try again later". */
const RETRYABLE_PG_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
]);
const RETRYABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const AUTH_PG_CODES = new Set(['28P01', '28000']);

export function isAuthenticationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && AUTH_PG_CODES.has(code);
}

/** Classifies any thrown value: true when retrying the same operation may succeed. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PipelineError) return error.retryable;
  if (isAuthenticationFailure(error)) return false;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && (RETRYABLE_PG_CODES.has(code) || RETRYABLE_SOCKET_CODES.has(code))) return true;
  const message = (error as Error)?.message ?? '';
  return /Connection terminated|connection.*(closed|ended)|terminating connection/i.test(message);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
