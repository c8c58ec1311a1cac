import type { LogFields, Logger } from '../platform/logger.js';
import { withoutValues } from '../platform/redact.js';

/** One line of the errors panel: a warning or error some stage logged, or a quarantined event. */
export interface FeedEntry {
  at: string;
  kind: 'error' | 'warning' | 'quarantine';
  stage: string;
  message: string;
  /** The error's message with quoted values elided (see withoutValues). */
  error?: string;
  reason?: string;
  table?: string;
  eventId?: string;
  shardId?: string;
  sequenceNumber?: string;
}

/** Fields copied from a log line to the feed: identifiers only, never a record or a row image. */
const KEPT_FIELDS = ['reason', 'table', 'eventId', 'shardId', 'sequenceNumber'] as const;

/**
 * The latest errors and quarantined events, newest first, bounded (a flood of bad input keeps the
 * most recent `capacity`). Entries keep messages and identifiers; values that could be row
 * contents (quoted strings in messages, e.g. `got "…"`) are elided before they are stored.
 */
export class EventFeed {
  private readonly entries: FeedEntry[] = [];
  constructor(private readonly capacity = 50) {}

  add(entry: FeedEntry): void {
    this.entries.unshift({ ...entry, message: withoutValues(entry.message), ...(entry.error !== undefined ? { error: withoutValues(entry.error) } : {}) });
    if (this.entries.length > this.capacity) this.entries.length = this.capacity;
  }

  latest(): FeedEntry[] {
    return [...this.entries];
  }
}

/**
 * A logger that also sends warnings and errors to the feed. The stages log every quarantined event
 * and every failure already; reading their log lines keeps the dashboard from re-implementing them.
 */
export function tapLogger(logger: Logger, feed: EventFeed, bound: LogFields = {}): Logger {
  const record = (level: 'warn' | 'error', message: string, fields: LogFields = {}) => {
    const all = { ...bound, ...fields };
    const entry: FeedEntry = {
      at: new Date().toISOString(),
      kind: /quarantined/i.test(message) ? 'quarantine' : level === 'error' ? 'error' : 'warning',
      stage: typeof all.stage === 'string' ? all.stage : 'up',
      message,
    };
    const error = all.error;
    if (typeof error === 'string') entry.error = error;
    else if (error instanceof Error) entry.error = error.message;
    for (const key of KEPT_FIELDS) if (typeof all[key] === 'string') entry[key] = all[key] as string;
    feed.add(entry);
  };
  return {
    debug: (m, f) => logger.debug(m, f),
    info: (m, f) => logger.info(m, f),
    warn: (m, f) => {
      record('warn', m, f);
      logger.warn(m, f);
    },
    error: (m, f) => {
      record('error', m, f);
      logger.error(m, f);
    },
    child: (fields) => tapLogger(logger.child(fields), feed, { ...bound, ...fields }),
  };
}
