/**
 * Errors carry their category, and decisions are made on the category alone (never on a class name
 * or message text):
 *  - `retryable`: connection refused, throttling, a restarting Postgres: retried with backoff;
 *  - `permanent`: bad credentials, bad config, a programming error: reported once, never retried in
 *    a loop; a batch that hits one fails as a whole (Lambda retries it, then sends it to the DLQ);
 *  - `bad-input`: one record or event that breaks the contract: quarantined, the rest proceeds.
 * Anything thrown that is not a PipelineError (a TypeError from a bug, a plain RangeError) is
 * `permanent` unless a known Postgres or socket code says it is retryable: a bug is never mistaken
 * for bad input and quietly quarantined.
 */
export type ErrorCategory = 'retryable' | 'permanent' | 'bad-input';

/** What failed: LSN, table, key, event id, file... (logged beside the message). */
export type ErrorContext = Record<string, unknown>;

export interface PipelineErrorOptions {
  /** `retryable: true|false` is shorthand for category `retryable` / `permanent`. */
  category?: ErrorCategory;
  retryable?: boolean;
  cause?: unknown;
  context?: ErrorContext;
}

export class PipelineError extends Error {
  readonly category: ErrorCategory;
  /** category === 'retryable' (kept as a field: callers and serialised errors read it). */
  readonly retryable: boolean;
  readonly context: ErrorContext;
  constructor(message: string, options: PipelineErrorOptions) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.category = options.category ?? (options.retryable ? 'retryable' : 'permanent');
    this.retryable = this.category === 'retryable';
    this.context = options.context ?? {};
  }
}

/** Input that breaks the contract (an event, a record, a value): quarantined, never retried. */
export class BadInputError extends PipelineError {
  constructor(message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, { ...options, category: 'bad-input' });
  }
}

/** A mistake the user can fix (bad flag, wrong URL, unreachable database): printed without a stack. */
export class UserError extends PipelineError {
  constructor(message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, { ...options, category: 'permanent' });
  }
}

export class ConfigError extends UserError {}

export class AuthenticationError extends UserError {}

/** Postgres SQLSTATEs and socket codes that say "try again later". */
const RETRYABLE_PG_CODES = new Set([
  '57P01', // admin_shutdown (also pg_terminate_backend)
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
const CATEGORIES: ReadonlySet<unknown> = new Set<ErrorCategory>(['retryable', 'permanent', 'bad-input']);

export function isAuthenticationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && AUTH_PG_CODES.has(code);
}

/**
 * The category of any thrown value. A `category` property is read as such (not only on
 * PipelineError instances) so errors rebuilt on the far side of a worker thread keep theirs.
 */
export function errorCategory(error: unknown): ErrorCategory {
  const category = (error as { category?: unknown })?.category;
  if (CATEGORIES.has(category)) return category as ErrorCategory;
  if (isAuthenticationFailure(error)) return 'permanent';
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && (RETRYABLE_PG_CODES.has(code) || RETRYABLE_SOCKET_CODES.has(code))) return 'retryable';
  // node-postgres reports a dropped socket with these messages and no code.
  const message = (error as Error)?.message ?? '';
  if (/Connection terminated|connection.*(closed|ended)|terminating connection/i.test(message)) return 'retryable';
  return 'permanent';
}

/** True when retrying the same operation may succeed. */
export function isRetryable(error: unknown): boolean {
  return errorCategory(error) === 'retryable';
}

/** True for contract-breaking input: the one category that is quarantined instead of failing. */
export function isBadInput(error: unknown): boolean {
  return errorCategory(error) === 'bad-input';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
