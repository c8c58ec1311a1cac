import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { isSourceTable, SOURCE_TABLES, type SourceTable } from '../../contracts/source-tables.js';
import { UserError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { withPostgresClient } from '../../platform/postgres-client.js';
import { openDatabases } from '../../runtime/databases.js';
import { captureStatusFile, readCaptureStatusFile } from '../../runtime/pipeline-status.js';
import { commandContext, positiveNumber } from '../context.js';
import { InvalidArgumentError } from 'commander';
import { runAction } from '../run-action.js';
import { progressBar } from '../ui/progress-bar.js';

/**
 * `totesys-cdc resnapshot --table <t>`: asks the running capture to re-read one table in chunks
 * while it streams (capture/snapshot/incremental-snapshot.ts). The request is a logical message in
 * the source's WAL, so it reaches whichever capture streams the slot (`up`'s, the Fargate task) in
 * order; a `sync` started afterwards performs it too. Waits with a progress bar while the local
 * capture's status file shows the job (unless --no-wait).
 */
export function registerResnapshotCommand(program: Command): void {
  program
    .command('resnapshot')
    .description('re-read one source table in chunks while streaming, and reconcile the warehouse with it')
    .requiredOption('--table <table>', `the source table: ${SOURCE_TABLES.join(', ')}`, (value: string) => {
      if (!isSourceTable(value)) throw new InvalidArgumentError(`--table ${value} is not a captured table; one of: ${SOURCE_TABLES.join(', ')}`);
      return value;
    })
    .option('--no-wait', 'return once the request is written (the capture performs it when it reads that far)')
    .option('--timeout-ms <ms>', 'how long to wait for the capture to finish', positiveNumber('--timeout-ms'), 600_000)
    .addHelpText(
      'after',
      '\nThe table is read in key order, 1,000 rows per chunk, between two watermark messages in the WAL; rows the\n' +
        'stream changed meanwhile are left to the stream. Rows changed since their last captured version get one new\n' +
        'version in the warehouse, rows the source no longer has a delete version, unchanged rows nothing. The\n' +
        'stream is never paused. Needs a running capture (`up`, or the capture task in AWS), or a later `sync`. The job\n' +
        'is kept in the source with its progress: a capture that restarts resumes it after the last completed chunk.',
    )
    .action((options: { table: SourceTable; wait: boolean; timeoutMs: number }, command: Command) =>
      runAction(async () => {
        const timeoutMs = options.timeoutMs;
        const { config, logger } = commandContext(command, 'resnapshot');
        const dbs = await openDatabases(config, logger, { exclusive: false, command: 'resnapshot' });
        try {
          const requestId = randomBytes(6).toString('hex');
          const { estimatedRows, persisted } = await requestResnapshot(dbs.sourceUrl, options.table, requestId, config.capture.publicationName);
          logger.info('resnapshot requested', { event: 'resnapshot-requested', table: options.table, requestId, estimatedRows, recordedInSource: persisted });
          if (!options.wait) {
            process.stdout.write(JSON.stringify({ requested: true, table: options.table, requestId }, null, 2) + '\n');
            return;
          }
          const outcome = await waitForResnapshot(captureStatusFile(config), requestId, options.table, estimatedRows, timeoutMs, logger);
          process.stdout.write(JSON.stringify(outcome, null, 2) + '\n');
          if (outcome.state === 'abandoned') throw new UserError(`the capture abandoned the resnapshot of ${options.table}: ${outcome.error ?? 'see its log'}; run resnapshot again`);
        } finally {
          await dbs.close();
        }
      }),
    );
}

/**
 * Records the job in the source (the publication's comment, capture/control/resnapshot-jobs.ts:
 * durable, so a capture that is down or restarts picks it up), then writes the request into the
 * source's WAL (a running capture sees it in order). Returns the table's row estimate for the progress bar.
 */
export async function requestResnapshot(sourceUrl: string, table: SourceTable, requestId: string, publicationName?: string): Promise<{ estimatedRows: number; persisted: boolean }> {
  const { RESNAPSHOT_PREFIX, resnapshotRequestContent } = await import('../../capture/snapshot/incremental-snapshot.js');
  const { editPublicationComment } = await import('../../capture/control/publication-comment.js');
  const { withJob } = await import('../../capture/control/resnapshot-jobs.js');
  return withPostgresClient({ url: sourceUrl, applicationName: 'totesys-cdc-resnapshot', connectionTimeoutMs: 10_000 }, async (client) => {
    // No publication yet (no capture ever ran): nothing to record; the first capture's snapshot reads the table anyway.
    const job = { requestId, table, state: 'running' as const, keyAfter: null, chunks: 0, rowsRead: 0, rowsPublished: 0, startedAt: new Date().toISOString() };
    // A user that may not comment on the publication (not its owner) still gets the request through the WAL: the
    // capture records the job itself when it reads the request (it is then durable from its first chunk on).
    const persisted = publicationName ? await editPublicationComment(client, publicationName, (lines) => withJob(lines, job)).catch(() => false) : false;
    await client.query('SELECT pg_logical_emit_message(false, $1, $2)', [RESNAPSHOT_PREFIX, resnapshotRequestContent(table, requestId)]);
    const { rows } = await client.query<{ n: number }>('SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = $1::regclass', [client.escapeIdentifier(table)]);
    return { estimatedRows: Math.round(rows[0]?.n ?? 0), persisted };
  });
}

type Outcome = { requestId: string; table: string; state: 'done' | 'abandoned' | 'requested'; rowsRead?: number; rowsPublished?: number; chunks?: number; error?: string; note?: string };

async function waitForResnapshot(statusFile: string, requestId: string, table: string, estimatedRows: number, timeoutMs: number, logger: Logger): Promise<Outcome> {
  const bar = progressBar(`resnapshot ${table}`, 'rows');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const status = await readCaptureStatusFile(statusFile);
      if (!status || status.stale) {
        return { requestId, table, state: 'requested', note: 'no capture is running on this state directory: the next `up` or `sync` performs it' };
      }
      const job = status.resnapshots?.find((r) => r.requestId === requestId);
      if (job) {
        bar.update(job.rowsRead, Math.max(estimatedRows, job.rowsRead), `${job.chunks} chunks`);
        // interrupted: the capture's session ended; it resumes the job when it streams again.
        if (job.state === 'done' || job.state === 'abandoned') {
          logger.info(`resnapshot ${job.state}`, { event: `resnapshot-${job.state}`, ...job });
          return { requestId, table, state: job.state, rowsRead: job.rowsRead, rowsPublished: job.rowsPublished, chunks: job.chunks, error: job.error };
        }
      }
      if (Date.now() > deadline) throw new UserError(`the resnapshot of ${table} did not finish within ${timeoutMs} ms (it goes on in the capture; see status)`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    bar.stop();
  }
}
