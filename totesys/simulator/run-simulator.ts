import pg from 'pg';
import { PipelineError, isRetryable } from '../../platform/errors.js';
import { silentLogger, type Logger } from '../../platform/logger.js';
import { createPrng } from '../prng.js';
import { CHANGE_KINDS, CHANGE_WEIGHTS, type ChangeKind } from './change-mix.js';
import {
  deleteUnpaidOrder, dimensionChange, newOrder, paymentPaid, silentUpdate,
  type ChangeContext, type ChangeResult, type SimulatedChange, type SimulatorState,
} from './simulated-changes.js';
import { TokenBucket } from './token-bucket.js';
import { abortableDelay } from '../../platform/abortable-delay.js';
import { createPostgresClient } from '../../platform/postgres-client.js';

export type { SimulatedChange } from './simulated-changes.js';

export interface SimulatorOptions {
  /** Average changes per second (token bucket; burst of at most a tenth of a second's worth). */
  ratePerSecond: number;
  /** Stop after this long. */
  durationMs?: number;
  /** Stop after this many changes (applied or skipped). */
  changes?: number;
  /** Same seed and same starting data → the same sequence of decisions and chosen rows. */
  seed: number;
  /** Stops the run cleanly (the summary is still returned). */
  signal?: AbortSignal;
  onChange?: (change: SimulatedChange) => void;
  /** "Now" for last_updated and for which payments are due; epoch ms. Defaults to Date.now. */
  clock?: () => number;
  logger?: Logger;
}

export interface SimulatorSummary {
  /** Changes applied (each one committed source transaction). */
  changes: number;
  byKind: Record<ChangeKind, number>;
  /** Decisions that found no qualifying row (e.g. no unpaid payment left) and changed nothing. */
  skipped: number;
  durationMs: number;
  stoppedBy: 'changes' | 'duration' | 'signal';
}

/** A change failed; `retryable` when the cause was (connection lost, serialization failure). */
export class SimulatedChangeError extends PipelineError {
  readonly kind: ChangeKind;
  readonly seq: number;
  constructor(kind: ChangeKind, seq: number, cause: unknown) {
    super(`simulated change #${seq} (${kind}) failed: ${cause instanceof Error ? cause.message : String(cause)}`, { retryable: isRetryable(cause), cause });
    this.kind = kind;
    this.seq = seq;
  }
}

async function ids(client: pg.Client, table: string, column: string): Promise<number[]> {
  const { rows } = await client.query(`SELECT ${client.escapeIdentifier(column)} AS id FROM ${client.escapeIdentifier(table)} ORDER BY 1`);
  return rows.map((r) => r.id as number);
}

async function loadState(client: pg.Client): Promise<SimulatorState> {
  // One client runs one query at a time: read the id lists one after another.
  const staffIds = await ids(client, 'staff', 'staff_id');
  const counterpartyIds = await ids(client, 'counterparty', 'counterparty_id');
  const addressIds = await ids(client, 'address', 'address_id');
  const currencyIds = await ids(client, 'currency', 'currency_id');
  const designIds = await ids(client, 'design', 'design_id');
  const departmentIds = await ids(client, 'department', 'department_id');
  const missing = Object.entries({ staffIds, counterpartyIds, addressIds, currencyIds, designIds, departmentIds }).filter(([, v]) => !v.length).map(([k]) => k);
  if (missing.length) throw new PipelineError(`the source database has no rows for ${missing.join(', ')}: seed it before simulating`, { retryable: false });
  const types = await client.query(`SELECT payment_type_id AS id, payment_type_name::text AS name FROM payment_type`);
  const typeId = (name: string) => {
    const row = types.rows.find((r) => r.name === name);
    if (!row) throw new PipelineError(`payment_type ${name} is missing: seed the source database before simulating`, { retryable: false });
    return row.id as number;
  };
  const max = await client.query(`SELECT (SELECT coalesce(max(sales_order_id), 0) FROM sales_order) AS sales_order, (SELECT coalesce(max(payment_id), 0) FROM payment) AS payment`);
  return {
    staffIds, counterpartyIds, addressIds, currencyIds, designIds, departmentIds,
    salesReceiptTypeId: typeId('SALES_RECEIPT'),
    purchasePaymentTypeId: typeId('PURCHASE_PAYMENT'),
    maxIds: { sales_order: max.rows[0].sales_order, payment: max.rows[0].payment },
  };
}

/**
 * A connected client with an 'error' listener (a dropped connection must fail the change in flight,
 * never crash the process). With `retry`, connection failures that may pass (server starting,
 * restarting, unreachable for a moment) are retried with backoff, 250 ms doubling to 5 s, until
 * `signal` aborts; anything else (bad credentials, missing database) is thrown at once.
 */
async function connectSimulator(url: string, logger: Logger, signal: AbortSignal | undefined, retry: boolean): Promise<pg.Client> {
  let delayMs = 250;
  for (;;) {
    const client = createPostgresClient({ url, applicationName: 'totesys-simulator', logger });
    client.on('error', (error) => logger.warn('simulator connection lost', { error: error.message }));
    try {
      await client.connect();
      if (retry) logger.info('simulator reconnected');
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (!retry || !isRetryable(error) || signal?.aborted) throw error;
      logger.warn('simulator cannot reach the source yet; retrying', { error: (error as Error).message, retryInMs: delayMs });
      await abortableDelay(delayMs, signal);
      delayMs = Math.min(delayMs * 2, 5_000);
    }
  }
}

function applyChange(kind: ChangeKind, ctx: ChangeContext): Promise<ChangeResult> {
  switch (kind) {
    case 'new_sales_order':
    case 'new_purchase_order':
      return newOrder(ctx, kind);
    case 'payment_paid':
      return paymentPaid(ctx);
    case 'silent_update':
      return silentUpdate(ctx);
    case 'delete_unpaid_order':
      return deleteUnpaidOrder(ctx);
    case 'dimension_change':
      return dimensionChange(ctx);
  }
}


/**
 * Keeps a seeded totesys busy like the real shop (mix in change-mix.ts), rate-limited by a token
 * bucket, until `changes` are made, `durationMs` passes or `signal` aborts (at least one should be
 * set, else it runs until aborted). Each change is one source transaction, so CDC sees an order,
 * its transaction and its payment commit together.
 */
export async function runSimulator(url: string, options: SimulatorOptions): Promise<SimulatorSummary> {
  const { ratePerSecond, durationMs, changes: maxChanges, seed, signal, onChange } = options;
  const clock = options.clock ?? Date.now;
  const logger = (options.logger ?? silentLogger).child({ component: 'totesys-simulator' });
  if (maxChanges !== undefined && !(Number.isInteger(maxChanges) && maxChanges >= 0)) throw new RangeError(`changes must be a non-negative integer, got ${maxChanges}`);
  if (durationMs !== undefined && !(durationMs >= 0)) throw new RangeError(`durationMs must be >= 0, got ${durationMs}`);
  const bucket = new TokenBucket(ratePerSecond, Math.max(1, ratePerSecond / 10), performance.now());
  const prng = createPrng(seed, 'totesys-simulator');
  const byKind = Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as Record<ChangeKind, number>;
  const weights = CHANGE_KINDS.map((k) => CHANGE_WEIGHTS[k]);
  const started = performance.now();
  const deadline = durationMs === undefined ? Infinity : started + durationMs;
  let applied = 0;
  let skipped = 0;
  let stoppedBy: SimulatorSummary['stoppedBy'] = 'signal';

  // The connection is replaced when the server restarts or fails over (see reconnect below).
  let client = await connectSimulator(url, logger, signal, false);
  try {
    let state = await loadState(client);
    logger.info('simulator started', { ratePerSecond, durationMs, changes: maxChanges, seed });
    for (;;) {
      if (signal?.aborted) { stoppedBy = 'signal'; break; }
      if (maxChanges !== undefined && applied + skipped >= maxChanges) { stoppedBy = 'changes'; break; }
      const nowPerf = performance.now();
      if (nowPerf >= deadline) { stoppedBy = 'duration'; break; }
      const waitMs = bucket.tryTake(nowPerf);
      if (waitMs > 0) {
        await abortableDelay(Math.min(waitMs, deadline - nowPerf), signal);
        continue;
      }
      const kind = CHANGE_KINDS[prng.weightedIndex(weights)];
      const seq = applied + skipped + 1;
      let result: ChangeResult;
      try {
        await client.query('BEGIN');
        result = await applyChange(kind, { client, prng, state, nowMs: clock() });
        await client.query('COMMIT');
      } catch (cause) {
        await client.query('ROLLBACK').catch(() => undefined);
        const error = new SimulatedChangeError(kind, seq, cause);
        if (!error.retryable || signal?.aborted) throw error;
        // A lost connection (restart, failover, pg_terminate_backend): the change is rolled back,
        // or committed if the COMMIT reached the server before the drop; either way the source
        // stays consistent. Reconnect with backoff and reload the id lists (the source may have
        // been restored), then carry on with the next change.
        logger.warn('simulated change failed on a lost connection; reconnecting', { kind, seq, error: error.message });
        for (;;) {
          await client.end().catch(() => undefined);
          client = await connectSimulator(url, logger, signal, true);
          try {
            state = await loadState(client);
            break;
          } catch (loadError) {
            if (!isRetryable(loadError) || signal?.aborted) throw loadError;
          }
        }
        continue;
      }
      if (!result) {
        skipped++;
        continue;
      }
      applied++;
      byKind[kind]++;
      onChange?.({ seq, ...result });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  const summary: SimulatorSummary = { changes: applied, byKind, skipped, durationMs: Math.round(performance.now() - started), stoppedBy };
  logger.info('simulator stopped', { ...summary });
  return summary;
}
