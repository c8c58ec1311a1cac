import { PipelineError, UserError, isRetryable } from '../../platform/errors.js';

/** The target database already holds totesys rows: seeding again would duplicate history. */
export class AlreadySeededError extends UserError {
  readonly rowCounts: Readonly<Record<string, number>>;
  constructor(database: string, rowCounts: Record<string, number>) {
    const nonEmpty = Object.entries(rowCounts).filter(([, n]) => n > 0).map(([t]) => t);
    super(`database "${database}" already holds totesys data (${nonEmpty.join(', ')} not empty); refusing to seed it again. Seed an empty database, or drop and recreate this one first.`);
    this.rowCounts = Object.freeze({ ...rowCounts });
  }
}

/** A failure while seeding one table; retryable when the cause is (connection lost, restart). */
export class SeedTableError extends PipelineError {
  readonly table: string;
  constructor(table: string, cause: unknown) {
    super(`seeding table "${table}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { retryable: isRetryable(cause), cause });
    this.table = table;
  }
}
