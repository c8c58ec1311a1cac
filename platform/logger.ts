import { mayCarrySecret, redactSecrets } from './redact.js';

/**
 * Structured JSON logs, one object per line on stderr (stdout stays free for command output such as
 * `sync`'s summary). `service` names the component; per-record keys (lsn, table, key) go in fields.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  write?: (line: string) => void;
}

const SECRET_KEYS = /pass(word)?|secret|token|credential|authorization/i;

function sanitize(value: unknown, key = ''): unknown {
  if (SECRET_KEYS.test(key)) return '***';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return mayCarrySecret(value) ? redactSecrets(value) : value;
  if (value instanceof Error) {
    return { name: value.name, message: sanitize(value.message), ...(value.cause ? { cause: sanitize(value.cause) } : {}) };
  }
  return value;
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const threshold = RANK[options.level ?? defaultLevel()];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (RANK[level] < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level, service: options.service, message: sanitize(message) };
    for (const [k, v] of Object.entries({ ...bound, ...fields })) record[k] = sanitize(v, k);
    write(JSON.stringify(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

function defaultLevel(): LogLevel {
  const env = process.env.TOTESYS_LOG_LEVEL;
  if (env && env in RANK) return env as LogLevel;
  return process.env.VITEST ? 'warn' : 'info';
}

/** A logger that drops everything (tests that assert on behaviour, not logs). */
export const silentLogger: Logger = createLogger({ service: 'silent', level: 'silent' });
