import type { Config } from '../platform/config.js';
import { UserError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { processMetrics } from '../platform/metrics.js';
import { prometheusExporter } from '../platform/metrics/prometheus-exporter.js';
import type { PipelineCounters } from '../runtime/pipeline-counters.js';
import type { PipelineStatus } from '../runtime/pipeline-status.js';
import { removeDashboardAddress, writeDashboardAddress } from './dashboard-file.js';
import { DashboardSampler } from './dashboard-sampler.js';
import { startDashboardServer, type DashboardServer } from './dashboard-server.js';
import type { EventFeed } from './event-feed.js';

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

/**
 * `up`'s dashboard: a sampler reading the pipeline each second, the HTTP server, and the address
 * file `status --web` reads. It lives as long as `up`, not as long as any stage, so a stage that
 * restarts shows up as a gap or an error on the page, never as a dead page.
 */
export async function startDashboard(options: {
  config: Readonly<Config>;
  counters: PipelineCounters;
  readStatus: () => Promise<PipelineStatus>;
  feed: EventFeed;
  simulating: boolean;
  logger: Logger;
  intervalMs?: number;
}): Promise<RunningDashboard> {
  const { config, logger } = options;
  let server: DashboardServer | undefined;
  const sampler = new DashboardSampler({
    counters: options.counters,
    readStatus: options.readStatus,
    feed: options.feed,
    registry: processMetrics,
    simulating: options.simulating,
    intervalMs: options.intervalMs,
    onUpdate: (update) => server?.broadcast(update),
  });
  const serve = (port: number) =>
    startDashboardServer({
      host: config.dashboard.host,
      port,
      token: config.dashboard.token,
      source: { history: () => sampler.history, panels: () => sampler.panels },
      metrics: prometheusExporter(processMetrics),
      logger,
    });
  try {
    server = await serve(config.dashboard.port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another `up` (another state directory) may hold the default port: take any free one and say so.
    if (code === 'EADDRINUSE' && config.dashboard.port !== 0) {
      logger.warn('dashboard port in use; using a free port instead', { port: config.dashboard.port });
      server = await serve(0);
    } else throw new UserError(`the dashboard cannot listen on ${config.dashboard.host}:${config.dashboard.port}: ${(error as Error).message}`, { cause: error });
  }
  sampler.start();
  await writeDashboardAddress(config.stateDir, { url: server.url, pid: process.pid, startedAt: new Date().toISOString() });
  const running = server;
  return {
    url: running.url,
    async close() {
      sampler.stop();
      await removeDashboardAddress(config.stateDir);
      await running.close();
    },
  };
}
