import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Logger } from '../platform/logger.js';
import type { PrometheusExporter } from '../platform/metrics/prometheus-exporter.js';
import type { DashboardPanels, DashboardSample } from './dashboard-model.js';
import { isAuthorised, isLocalHostHeader } from './http-auth.js';

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot'));

/** Files the page loads: its own, and uPlot from node_modules (no CDN: works offline, nothing third-party). */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: path.join(STATIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: path.join(STATIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': { file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // The token may be in the page's URL: never send it on as a Referer.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export interface DashboardSource {
  history(): readonly DashboardSample[];
  panels(): DashboardPanels | null;
}

export interface DashboardServerOptions {
  host: string;
  port: number;
  token?: string;
  source: DashboardSource;
  metrics: PrometheusExporter;
  logger: Logger;
  /** Seconds between SSE keep-alive comments (default 15), so proxies do not close an idle stream. */
  keepAliveMs?: number;
}

export interface DashboardServer {
  /** http://host:port/ of the page (without the token). */
  readonly url: string;
  /** Sends one update to every open page. */
  broadcast(update: { sample: DashboardSample; panels: DashboardPanels }): void;
  close(): Promise<void>;
}

/**
 * The dashboard's HTTP side: the static page, `/events` (server-sent events: the whole state on
 * connect, then one update per sample; the browser reconnects by itself), `/api/state` (the same
 * state once) and `/metrics` (Prometheus text). Data routes need the token when one is set.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const clients = new Set<http.ServerResponse>();
  const state = () => ({ history: options.source.history(), panels: options.source.panels() });

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error) => {
      options.logger.warn('dashboard request failed', { error, path: req.url?.split('?')[0] });
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS);
      res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'method not allowed\n');
    const file = FILES[url.pathname];
    if (file) {
      // The page and its scripts hold no data; without a token they are still only served to this machine.
      if (!options.token && !isLocalHostHeader(req.headers.host)) return reply(res, 403, 'text/plain', 'forbidden\n');
      return reply(res, 200, file.type, await fs.readFile(file.file));
    }
    if (!['/events', '/api/state', '/metrics'].includes(url.pathname)) return reply(res, 404, 'text/plain', 'not found\n');
    if (!isAuthorised(req.headers, url, options.token)) {
      res.writeHead(401, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="totesys-cdc"' });
      res.end('a token is required: Authorization: Bearer <token> or ?token=<token>\n');
      return;
    }
    if (url.pathname === '/metrics') return reply(res, 200, options.metrics.contentType, await options.metrics.render());
    if (url.pathname === '/api/state') return reply(res, 200, 'application/json', JSON.stringify(state()));
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(state())}\n\n`);
    clients.add(res);
    req.on('close', () => clients.delete(res));
  }

  const keepAlive = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, options.keepAliveMs ?? 15_000);
  keepAlive.unref();

  await listen(server, options.host, options.port);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    broadcast(update) {
      const message = `event: update\ndata: ${JSON.stringify(update)}\n\n`;
      for (const client of clients) client.write(message);
    },
    async close() {
      clearInterval(keepAlive);
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
