import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { openDatabases } from '../../runtime/databases.js';
import { launchChromium } from '../support/chromium.js';
import { CLI, REPO_ROOT, runCli } from '../support/cli.js';
import { parsePrometheusText } from '../support/prometheus-text.js';
import { waitFor } from '../support/wait-for.js';

/** Freshness on the page and in `status --json` are two readings ~1 s apart of a value that moves by the loader's interval. */
const FRESHNESS_TOLERANCE_MS = 3_000;
const SCREENSHOT = path.join(REPO_ROOT, 'docs/dashboard.png');

function startUp(stateDir: string, port: number): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'up', '--state-dir', stateDir, '--rate', '20', '--scale', '0.1', '--loader-interval-ms', '300', '--dashboard-port', String(port)], {
    cwd: REPO_ROOT,
    env: { ...process.env, TOTESYS_LOG_LEVEL: 'info', TOTESYS_DASHBOARD_TOKEN: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const points = async (page: Page, chart: string) => Number(await page.locator(`#chart-${chart}`).getAttribute('data-points'));
const badge = (page: Page) => page.locator('#connection').textContent();
const lastValue = async (page: Page, chart: string, series: string) => Number(JSON.parse((await page.locator(`#chart-${chart}`).getAttribute('data-last')) ?? '{}')[series] ?? 0);

describe('the dashboard in a real browser (Debian Chromium)', () => {
  let stateDir: string | undefined;
  const children: ChildProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    for (const child of children) child.kill('SIGKILL');
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('loads cleanly, charts the running pipeline, agrees with status --json, lists a quarantined event, survives restarts', async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'dashboard-browser-'));
    // Port 0: the dashboard binds a free port itself (a port picked here could be taken before
    // `up` binds it); the restart below asks for the port it got.
    const up = startUp(stateDir, 0);
    children.push(up.child);
    const url = await waitFor(() => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(up.output())?.[1], { timeoutMs: 90_000, intervalMs: 250, what: `the dashboard URL\n${up.output()}` });
    const port = Number(new URL(url).port);
    expect(port).toBeGreaterThan(0);

    const browser = await launchChromium();
    closers.push(browser.close);
    const page = await browser.context.newPage();
    const consoleProblems: string[] = [];
    page.on('console', (message) => ['error', 'warning'].includes(message.type()) && consoleProblems.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleProblems.push(`pageerror: ${error.message}`));
    await page.goto(url);

    // 1. Live, and the charts gain points while the simulator runs.
    await waitFor(async () => (await badge(page)) === 'live', { timeoutMs: 10_000, what: 'the live badge' });
    await waitFor(async () => (await page.locator('#tables td').count()) > 0 && Number((await page.locator('tr[data-table="fact_sales_order"] td').nth(1).textContent())?.replace(/,/g, '')) > 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'fact rows in the warehouse panel',
    });
    const before = { throughput: await points(page, 'throughput'), freshness: await points(page, 'freshness'), consumers: await points(page, 'consumers') };
    await waitFor(async () => (await points(page, 'throughput')) > before.throughput + 2, { timeoutMs: 30_000, intervalMs: 250, what: 'new throughput points' });
    expect(await points(page, 'freshness')).toBeGreaterThan(before.freshness);
    expect(await points(page, 'consumers')).toBeGreaterThan(before.consumers);
    // The new points are the simulator's changes going through: the source and the processor move.
    await waitFor(async () => (await lastValue(page, 'throughput', 'source changes/s')) > 0 && (await lastValue(page, 'throughput', 'processor events/s')) > 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'source changes and processor events on the throughput chart',
    });
    expect(await page.locator('#chart-throughput canvas').count()).toBe(1);
    expect(await page.locator('#capture-phase').textContent()).toBe('streaming');

    // 2. Freshness as `status --json` reports it.
    const status = await runCli(['status', '--json', '--state-dir', stateDir]);
    expect(status.code, status.stderr).toBe(0);
    const statusFreshnessMs = JSON.parse(status.stdout).warehouse.freshnessMs as number;
    const pageFreshnessMs = Number(await page.locator('#freshness-now').getAttribute('data-ms'));
    expect(statusFreshnessMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(pageFreshnessMs - statusFreshnessMs), `page ${pageFreshnessMs} ms, status ${statusFreshnessMs} ms`).toBeLessThanOrEqual(FRESHNESS_TOLERANCE_MS);
    process.stdout.write(`dashboard freshness ${pageFreshnessMs} ms vs status --json ${statusFreshnessMs} ms\n`);

    // 3. A quarantined event (a source value the contract rejects) appears with its message, not its contents.
    const marker = `NOT-A-DATE-${Date.now()}`;
    const config = loadConfig({ stateDir }, {});
    const dbs = await openDatabases(config, silentLogger, { exclusive: false, command: 'test' });
    closers.push(() => dbs.close());
    const client = new pg.Client({ connectionString: dbs.sourceUrl });
    await client.connect();
    // agreed_payment_date is TEXT in totesys; the simulator never reads it back, so it keeps running.
    await client.query('UPDATE sales_order SET agreed_payment_date = $1, last_updated = now() WHERE sales_order_id = (SELECT min(sales_order_id) FROM sales_order)', [marker]);
    await client.end();
    const item = page.locator('#events li.quarantine').filter({ hasText: 'agreed_payment_date' }).first();
    await item.waitFor({ timeout: 60_000 });
    expect(await item.textContent()).toMatch(/event quarantined.*sales_order.*agreed_payment_date/);

    // 4. /metrics is Prometheus text with the CloudWatch names; neither it nor the page shows row contents or credentials.
    // (The feed shows the quarantine as it is logged; counters move when its batch is durable, then the next sample.)
    let metricsText = '';
    let samples: ReturnType<typeof parsePrometheusText> = [];
    const value = (name: string, labels: Record<string, string> = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    await waitFor(
      async () => {
        const scrape = await fetch(`${url}metrics`);
        expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        metricsText = await scrape.text();
        samples = parsePrometheusText(metricsText);
        return (value('totesys_cdc_eventsQuarantined') ?? 0) >= 1;
      },
      { timeoutMs: 15_000, intervalMs: 500, what: 'eventsQuarantined on /metrics' },
    );
    expect(value('totesys_cdc_rowsLoaded')).toBeGreaterThan(0);
    expect(value('totesys_cdc_consumerLagRecords', { consumer: 'stream-processor' })).toBeGreaterThanOrEqual(0);
    expect(value('totesys_cdc_slotWalStatus', { walStatus: 'reserved' })).toBe(1);
    expect(samples.find((s) => s.name === 'totesys_cdc_rowsLoaded')?.type).toBe('counter');
    const password = (await fs.readFile(`${config.paths.postgresData}.password`, 'utf8')).trim();
    const pageText = await page.content();
    const apiState = await (await fetch(`${url}api/state`)).text();
    for (const [what, text] of [['page', pageText], ['/metrics', metricsText], ['/api/state', apiState]] as const) {
      expect(text, what).not.toContain(marker);
      expect(text, what).not.toContain(password);
    }
    await fs.mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(consoleProblems).toEqual([]);

    // 5. A stage restarts (the capture child is killed): the page stays live and charting, capture streams again.
    const capturePid = JSON.parse(await fs.readFile(path.join(stateDir, 'capture-status.json'), 'utf8')).pid as number;
    process.kill(capturePid, 'SIGKILL');
    await waitFor(async () => JSON.parse(await fs.readFile(path.join(stateDir!, 'capture-status.json'), 'utf8')).pid !== capturePid, { timeoutMs: 60_000, intervalMs: 500, what: 'a new capture child' });
    await waitFor(async () => (await page.locator('#capture-phase').textContent()) === 'streaming', { timeoutMs: 60_000, intervalMs: 500, what: 'capture streaming again on the page' });
    const afterCaptureRestart = await points(page, 'throughput');
    await waitFor(async () => (await points(page, 'throughput')) > afterCaptureRestart, { timeoutMs: 30_000, intervalMs: 250, what: 'points after the capture restart' });
    expect(await badge(page)).toBe('live');

    // 6. `status --web` finds the running dashboard (no display here: it prints the URL, opens nothing).
    const web = await runCli(['status', '--web', '--state-dir', stateDir], { env: { DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: undefined } });
    expect(web.code, web.stderr).toBe(0);
    expect(web.stdout).toBe(`dashboard: ${url}\n`);

    // 7. `up` itself restarts on the same port: the page notices, reconnects by itself and charts again.
    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
    await waitFor(async () => (await badge(page)) !== 'live', { timeoutMs: 15_000, what: 'the page noticing up stopped' });
    const noDashboard = await runCli(['status', '--web', '--state-dir', stateDir]);
    expect(noDashboard.code).toBe(1);
    expect(noDashboard.stderr).toMatch(/no `up` with a dashboard is running/);
    const again = startUp(stateDir, port);
    children.push(again.child);
    expect(await waitFor(() => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(again.output())?.[1], { timeoutMs: 90_000, intervalMs: 250, what: `the dashboard URL\n${again.output()}` })).toBe(url);
    await waitFor(async () => (await badge(page)) === 'live', { timeoutMs: 90_000, intervalMs: 500, what: `the page reconnecting\n${again.output()}` });
    const afterUpRestart = await points(page, 'throughput');
    await waitFor(async () => (await points(page, 'throughput')) > afterUpRestart, { timeoutMs: 60_000, intervalMs: 250, what: 'points after up restarted' });
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  }, 300_000);
});
