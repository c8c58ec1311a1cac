import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { DashboardPanels } from '../../dashboard/dashboard-model.js';
import { startDashboardServer, type DashboardServer } from '../../dashboard/dashboard-server.js';
import { ConfigError } from '../../platform/errors.js';
import { loadConfig } from '../../platform/config.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry, METRIC } from '../../platform/metrics.js';
import { prometheusExporter } from '../../platform/metrics/prometheus-exporter.js';
import { runCli } from '../support/cli.js';

const TOKEN = 'test-token-0123456789';

function panels(): DashboardPanels {
  return { atMs: 0, capture: null, slot: { error: 'not read yet' }, warehouse: { error: 'not read yet' }, streamError: null, tables: [], events: [] };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      const status = res.statusCode ?? 0;
      // An SSE stream never ends: the first chunk is enough.
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        res.once('data', () => {
          req.destroy();
          resolve({ status, body, headers: res.headers });
        });
      }
      res.on('end', () => resolve({ status, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

describe('dashboard server: safe by default', () => {
  let server: DashboardServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = (options: { host: string; token?: string }) => {
    const registry = new MetricsRegistry();
    registry.count(METRIC.rowsLoaded, 3);
    return startDashboardServer({ ...options, port: 0, source: { history: () => [], panels }, metrics: prometheusExporter(registry, { processMetrics: false }), logger: silentLogger });
  };

  it('refuses to start on another address without a token (config, and the CLI before anything runs)', async () => {
    expect(() => loadConfig({ dashboardHost: '0.0.0.0' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({}, { TOTESYS_DASHBOARD_HOST: '192.168.1.5' })).toThrow(/TOTESYS_DASHBOARD_TOKEN/);
    expect(() => loadConfig({ dashboardHost: '0.0.0.0', dashboardToken: 'short' }, {})).toThrow(/at least 16/);
    expect(loadConfig({ dashboardHost: '0.0.0.0', dashboardToken: TOKEN }, {}).dashboard).toEqual({ host: '0.0.0.0', port: 7381, token: TOKEN });
    expect(loadConfig({}, {}).dashboard).toEqual({ host: '127.0.0.1', port: 7381, token: undefined });
    const cli = await runCli(['up', '--dashboard-host', '0.0.0.0', '--state-dir', '/nonexistent/never-created'], { env: { TOTESYS_DASHBOARD_TOKEN: undefined } });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/0\.0\.0\.0 is reachable from other machines; set a token in TOTESYS_DASHBOARD_TOKEN/);
  });

  it('binds 127.0.0.1 by default and serves only requests addressed to this machine', async () => {
    server = await start({ host: '127.0.0.1' });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const metrics = await get(`${server.url}metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('totesys_cdc_rowsLoaded 3');
    // A page elsewhere that rebinds its own name to 127.0.0.1 sends its own Host header.
    expect((await get(`${server.url}metrics`, { Host: 'attacker.example' })).status).toBe(401);
    expect((await get(server.url, { Host: 'attacker.example' })).status).toBe(403);
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/); // nothing from a CDN
    expect((await get(`${server.url}vendor/uPlot.iife.min.js`)).body).toContain('uPlot');
  });

  it('on another address every data route needs the token (Bearer or ?token=); the page itself holds no data', async () => {
    server = await start({ host: '0.0.0.0', token: TOKEN });
    const base = server.url.replace('0.0.0.0', '127.0.0.1');
    for (const route of ['metrics', 'api/state', 'events']) {
      expect((await get(`${base}${route}`)).status, route).toBe(401);
      expect((await get(`${base}${route}?token=wrong-token-0123456789`)).status, route).toBe(401);
      expect((await get(`${base}${route}`, { Authorization: `Bearer ${TOKEN}` })).status, route).toBe(200);
      expect((await get(`${base}${route}?token=${TOKEN}`)).status, route).toBe(200);
    }
    const page = await get(base);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(TOKEN);
    const events = await get(`${base}events?token=${TOKEN}`);
    expect(events.body).toMatch(/^retry: 2000\nevent: snapshot\ndata: \{/);
    expect(events.body).not.toContain(TOKEN);
  });
});
