import pg from 'pg';
import { PipelineError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { redactUrl } from './redact.js';

/**
 * The one place that opens Postgres connections. Every client and pool it makes:
 *  - names itself (application_name), so pg_stat_activity shows which stage holds a connection;
 *  - has an 'error' listener from birth: a dropped connection (server restart, pg_terminate_backend,
 *    network) is logged and never becomes an unhandled 'error' event that kills the process;
 *  - after such a drop, rejects queries with PostgresConnectionError (retryable), so callers retry
 *    with a new connection instead of treating "client is not queryable" as a permanent failure;
 *  - never shows the password of its URL in an error message.
 */
export interface PostgresConnectOptions {
  url: string;
  /** application_name, e.g. `totesys-cdc-loader`. */
  applicationName: string;
  /** Where a dropped connection is reported (default: nowhere). */
  logger?: Logger;
  connectionTimeoutMs?: number;
  /** Client-side timeout of each query (default: none). */
  queryTimeoutMs?: number;
  /** `database`: a logical replication connection (capture only). */
  replication?: 'database';
}

export interface PostgresPoolOptions extends PostgresConnectOptions {
  max?: number;
}

/** A Postgres connection failed or was lost; `code` is the SQLSTATE or socket code when known. */
export class PostgresConnectionError extends PipelineError {
  readonly code: string | undefined;
  constructor(message: string, options: { retryable: boolean; cause: unknown; url: string }) {
    super(message, { retryable: options.retryable, cause: options.cause, context: { url: redactUrl(options.url) } });
    const code = (options.cause as { code?: unknown })?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

export function createPostgresClient(options: PostgresConnectOptions): pg.Client {
  const client = new pg.Client(clientConfig(options));
  guardClient(client, options);
  const connect = client.connect.bind(client) as () => Promise<unknown>;
  (client as unknown as { connect: () => Promise<unknown> }).connect = () => connect().catch((error: unknown) => Promise.reject(redactError(error, options.url)));
  return client;
}

/** A short-lived connection for `fn`: connected first, always closed after (a close that fails is moot). */
export async function withPostgresClient<T>(options: PostgresConnectOptions, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = createPostgresClient(options);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options), max: options.max ?? 2 });
  const logger = options.logger ?? silentLogger;
  // An idle client that loses its connection: the pool drops it and the next checkout reconnects.
  pool.on('error', (error) => logger.warn('idle Postgres connection lost', { application: options.applicationName, error: redactError(error, options.url) }));
  // A checked-out one: its holder sees the failed query; the listener keeps the process alive.
  pool.on('connect', (client) => guardClient(client, options));
  return pool;
}

function clientConfig(options: PostgresConnectOptions): pg.ClientConfig {
  return {
    connectionString: options.url,
    application_name: options.applicationName,
    ...(options.connectionTimeoutMs !== undefined ? { connectionTimeoutMillis: options.connectionTimeoutMs } : {}),
    ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
    ...(options.replication ? { replication: options.replication } : {}),
  } as pg.ClientConfig;
}

function guardClient(client: pg.Client | pg.PoolClient, options: PostgresConnectOptions): void {
  const logger = options.logger ?? silentLogger;
  let lost: Error | undefined;
  client.on('error', (error) => {
    lost ??= error;
    logger.warn('Postgres connection lost', { application: options.applicationName, error: redactError(error, options.url) });
  });
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    // Submittables (COPY streams, cursors) come back as they are; promises get their errors mended.
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      if (lost === undefined) throw redactError(error, options.url);
      throw new PostgresConnectionError(`Postgres connection (${options.applicationName}) was lost: ${redactText(errorText(lost), options.url)}`, { retryable: true, cause: error, url: options.url });
    });
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function redactText(text: string, url: string): string {
  return text.includes(url) ? text.split(url).join(redactUrl(url)) : text;
}

/** The same error with the URL's password removed from its message (its code and fields kept). */
function redactError(error: unknown, url: string): unknown {
  if (error instanceof Error && error.message.includes(url)) error.message = redactText(error.message, url);
  return error;
}

