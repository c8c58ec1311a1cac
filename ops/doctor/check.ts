/**
 * One prerequisite check: `fail` stops the pipeline from working, `warn` works today but will bite
 * (a pending migration, no room for a second slot), `ok` is fine. `fix` is the exact SQL or
 * parameter-group change that turns a failure into `ok`, printed as is.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable id for --json consumers, e.g. `source.wal_level`. */
  id: string;
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** SQL statements or commands, one per line, that fix it (absent when ok). */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
  /** The least-privilege capture-user SQL, included when a privilege check failed. */
  captureUserSql?: string;
}

export const ok = (id: string, summary: string): Check => ({ id, status: 'ok', summary });
export const warn = (id: string, summary: string, fix?: string): Check => ({ id, status: 'warn', summary, ...(fix ? { fix } : {}) });
export const fail = (id: string, summary: string, fix?: string): Check => ({ id, status: 'fail', summary, ...(fix ? { fix } : {}) });
