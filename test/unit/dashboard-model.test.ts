import { describe, expect, it } from 'vitest';
import { cursorOf, FRESHNESS_WINDOW_MS, nextSample, panelsOf, percentile } from '../../dashboard/dashboard-model.js';
import { EventFeed, tapLogger } from '../../dashboard/event-feed.js';
import { withoutValues } from '../../platform/redact.js';
import { browserCommand } from '../../dashboard/open-browser.js';
import { isAuthorised, isLocalHostHeader } from '../../dashboard/http-auth.js';
import { createLogger } from '../../platform/logger.js';
import { newCounters } from '../../runtime/pipeline-counters.js';
import type { PipelineStatus } from '../../runtime/pipeline-status.js';

function status(overrides: { freshnessMs?: number | null; stale?: boolean } = {}): PipelineStatus {
  return {
    at: '2026-01-01T00:00:00.000Z',
    slot: { slotName: 'totesys_cdc', exists: true, active: true, activePid: 1, plugin: 'pgoutput', confirmedFlushLsn: '0/1', restartLsn: '0/1', currentWalLsn: '0/2', lagBytes: 2048, walStatus: 'reserved', safeWalSizeBytes: null },
    capture: { pid: 2, slotName: 'totesys_cdc', publicationName: 'p', phase: 'streaming', startedAt: '', updatedAt: '', eventsPublished: 10, snapshotRowsPublished: 0, eventsPerSec: 7, lastReceivedLsn: null, lastConfirmedLsn: '0/1', lastConfirmedAt: null, slotLagBytes: 0, walStatus: 'reserved', safeWalSizeBytes: null, sinkLatencyMs: 1, inFlightEvents: 0, reconnects: 0, truncatesSkipped: 0, lastError: null, stale: overrides.stale ?? false },
    stream: [
      { consumer: 'stream-processor', records: 5, maxAgeMs: 100, shards: [] },
      { consumer: 'archiver', records: 50, maxAgeMs: 900, shards: [] },
    ],
    warehouse: { schema: 'star', initialised: true, schemaVersion: 1, rowsByTable: { fact_sales_order: 12, dim_date: 3 }, manifestsLoaded: 4, lastLoadAt: null, newestCommitTs: null, freshnessMs: overrides.freshnessMs === undefined ? 1500 : overrides.freshnessMs, watermarkTs: null, watermarkAgeMs: null, failedManifests: 0, parkedManifests: 0 },
  };
}

describe('dashboard samples', () => {
  it('turns totals into per-second rates and reads the rest from the status', () => {
    const counters = newCounters();
    const cursor = cursorOf(counters, 10_000);
    counters.simulator.changes = 20;
    counters.processor.events = 30;
    counters.loader.rows = 45;
    counters.processor.lastBatchMs = 120;
    const sample = nextSample(cursor, counters, status(), 12_000, [], true);
    expect(sample).toMatchObject({
      sourceChangesPerSec: 10,
      processorEventsPerSec: 15,
      loaderRowsPerSec: 22.5,
      captureEventsPerSec: 7,
      slotLagBytes: 2048,
      walStatus: 'reserved',
      consumerLagRecords: { 'stream-processor': 5, archiver: 50 },
      batchDurationMs: 120,
      freshnessMs: 1500,
    });
  });

  it('shows gaps, not zeros, for what it could not read (a stopped capture, a failed status read)', () => {
    const counters = newCounters();
    const stale = nextSample(cursorOf(counters, 0), counters, status({ stale: true }), 1_000, [], false);
    expect(stale.captureEventsPerSec).toBeNull();
    expect(stale.sourceChangesPerSec).toBeNull();
    const none = nextSample(cursorOf(counters, 0), counters, null, 1_000, [], true);
    expect(none).toMatchObject({ slotLagBytes: null, freshnessMs: null, consumerLagRecords: {}, freshnessP50Ms: null });
  });

  it('freshness percentiles cover the sliding window only', () => {
    const counters = newCounters();
    const window: { atMs: number; freshnessMs: number }[] = [];
    // An old spike (a snapshot catch-up) falls out of the window after FRESHNESS_WINDOW_MS.
    nextSample(cursorOf(counters, 0), counters, status({ freshnessMs: 60_000 }), 0, window, true);
    let last: ReturnType<typeof nextSample> | undefined;
    for (let i = 1; i <= 50; i++) last = nextSample(cursorOf(counters, 0), counters, status({ freshnessMs: i * 10 }), i * 1_000, window, true);
    expect(last?.freshnessP99Ms).toBe(60_000);
    last = nextSample(cursorOf(counters, 0), counters, status({ freshnessMs: 1_010 }), FRESHNESS_WINDOW_MS + 500, window, true);
    expect(last.freshnessP50Ms).toBe(260);
    expect(last.freshnessP99Ms).toBe(1_010);
  });

  it('carries the watermark age when the warehouse status has one', () => {
    const counters = newCounters();
    const withWatermark = status();
    Object.assign(withWatermark.warehouse, { watermarkAgeMs: 800 });
    expect(nextSample(cursorOf(counters, 0), counters, withWatermark, 1_000, [], true).watermarkAgeMs).toBe(800);
    expect(nextSample(cursorOf(counters, 0), counters, status(), 1_000, [], true).watermarkAgeMs).toBeNull();
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5], 0.99)).toBe(5);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
  });

  it('the tables panel lists every warehouse table, facts marked, with what this run loaded', () => {
    const counters = newCounters();
    counters.loader.rowsByTable.fact_sales_order = 7;
    const panels = panelsOf(counters, status(), [], 0);
    expect(panels.tables).toHaveLength(11);
    expect(panels.tables.find((t) => t.table === 'fact_sales_order')).toEqual({ table: 'fact_sales_order', kind: 'fact', rows: 12, loadedThisRun: 7 });
    expect(panels.tables.find((t) => t.table === 'dim_staff')).toEqual({ table: 'dim_staff', kind: 'dimension', rows: null, loadedThisRun: 0 });
  });
});

describe('errors panel feed', () => {
  it('keeps warnings and errors with identifiers only, newest first, bounded', () => {
    const feed = new EventFeed(3);
    const lines: string[] = [];
    const logger = tapLogger(createLogger({ service: 't', level: 'debug', write: (l) => lines.push(l) }), feed).child({ stage: 'processor' });
    logger.info('not an error');
    logger.warn('event quarantined', { eventId: 'e1', table: 'sales_order', key: 'quarantine/x.json', error: 'sales_order.units_sold: expected an integer, got "12"', row: { secret: 'x' } });
    logger.error('loader run failed', { error: new Error('connect ECONNREFUSED postgres://u:hunter2@db/x') });
    expect(lines).toHaveLength(3); // the log itself is unchanged
    const [error, quarantine] = feed.latest();
    expect(quarantine).toMatchObject({ kind: 'quarantine', stage: 'processor', eventId: 'e1', table: 'sales_order', error: 'sales_order.units_sold: expected an integer, got "…"' });
    expect(JSON.stringify(quarantine)).not.toContain('secret');
    expect(error).toMatchObject({ kind: 'error', error: 'connect ECONNREFUSED postgres://u:***@db/x' });
    for (let i = 0; i < 5; i++) logger.warn(`w${i}`);
    expect(feed.latest().map((e) => e.message)).toEqual(['w4', 'w3', 'w2']);
  });

  it('elides values that may be row contents', () => {
    expect(withoutValues('Unexpected token \'o\', "not json SECRET" is not valid JSON')).toBe('Unexpected token \'o\', "…" is not valid JSON');
    expect(withoutValues('sale.agreed_payment_date: expected a date, got SECRET-2022')).toBe('sale.agreed_payment_date: expected a date, got …');
    expect(withoutValues('x'.repeat(1000))).toHaveLength(400);
  });
});

describe('dashboard access', () => {
  const url = (q = '') => new URL(`http://127.0.0.1:1/events${q}`);
  it('with a token: Bearer header or ?token=, compared in full', () => {
    const token = 'a-token-of-16-chars';
    expect(isAuthorised({ host: 'example.org' }, url(), token)).toBe(false);
    expect(isAuthorised({ authorization: `Bearer ${token}` }, url(), token)).toBe(true);
    expect(isAuthorised({}, url(`?token=${token}`), token)).toBe(true);
    expect(isAuthorised({}, url(`?token=${token.slice(0, -1)}`), token)).toBe(false);
    expect(isAuthorised({ authorization: 'Bearer wrong' }, url(`?token=${token}`), token)).toBe(false);
  });
  it('without a token: only requests addressed to this machine (no DNS rebinding)', () => {
    expect(isAuthorised({ host: '127.0.0.1:7381' }, url(), undefined)).toBe(true);
    expect(isAuthorised({ host: 'localhost:7381' }, url(), undefined)).toBe(true);
    expect(isAuthorised({ host: '[::1]:7381' }, url(), undefined)).toBe(true);
    expect(isAuthorised({ host: 'evil.example:7381' }, url(), undefined)).toBe(false);
    expect(isLocalHostHeader(undefined)).toBe(false);
  });
  it('opens a browser only when there is one', () => {
    const none = () => false;
    expect(browserCommand('linux', {}, () => true)).toBeNull();
    expect(browserCommand('linux', { DISPLAY: ':0' }, none)).toBeNull();
    expect(browserCommand('linux', { DISPLAY: ':0' }, () => true)).toEqual(['xdg-open']);
    expect(browserCommand('linux', { BROWSER: 'firefox' }, none)).toEqual(['firefox']);
    expect(browserCommand('darwin', {}, none)).toEqual(['open']);
  });
});
