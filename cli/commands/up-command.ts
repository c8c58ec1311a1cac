import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../platform/logger.js';
import { redactUrl } from '../../platform/redact.js';
import { openDatabases } from '../../runtime/databases.js';
import { newCounters, type PipelineCounters } from '../../runtime/pipeline-counters.js';
import { readCaptureStatusFile, captureStatusFile, readPipelineStatus } from '../../runtime/pipeline-status.js';
import { EventFeed, tapLogger } from '../../dashboard/event-feed.js';
import type { RunningDashboard } from '../../dashboard/start-dashboard.js';
import { commandContext, nonNegativeInteger, positiveNumber } from '../context.js';
import { runAction } from '../run-action.js';
import { onShutdown } from '../shutdown.js';
import { progressBar } from '../ui/progress-bar.js';
import { LiveBlock, renderUpFrame } from '../ui/up-view.js';

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the whole pipeline here (what `npm start` runs): embedded Postgres, seeded totesys, live changes → warehouse')
    .option('--rate <r>', 'simulated totesys changes per second', positiveNumber('--rate'), 5)
    .option('--no-simulate', 'do not change totesys (capture only what others write)')
    .option('--scale <s>', 'size of the seeded totesys when it is empty', positiveNumber('--scale'), 1)
    .option('--seed <n>', 'random seed of the seed data and the simulator', nonNegativeInteger('--seed'), 1)
    .option('--no-dashboard', 'do not serve the web dashboard and /metrics (see --dashboard-port, --dashboard-host)')
    .addHelpText(
      'after',
      '\nCtrl-C stops every stage cleanly (only durable work is confirmed); the next `up` carries on where it stopped.' +
        '\nThe dashboard (live charts, errors, Prometheus /metrics) is at http://127.0.0.1:7381 unless --dashboard-port says otherwise.',
    )
    .action((options: { rate: number; simulate: boolean; scale: number; seed: number; dashboard: boolean }, command: Command) =>
      runAction(async () => {
        const ctx = commandContext(command, 'up');
        const { config } = ctx;
        const { runUpPipeline } = await import('../../runtime/up-pipeline.js');
        const interactive = Boolean(process.stdout.isTTY);
        // On a terminal the live view owns the screen: JSON logs go to a file instead of stderr.
        const logFile = path.join(config.stateDir, 'logs', 'up.log');
        let logStream: fs.WriteStream | undefined;
        if (interactive) {
          fs.mkdirSync(path.dirname(logFile), { recursive: true });
          logStream = fs.createWriteStream(logFile, { flags: 'a' });
        }
        const logger = logStream ? createLogger({ service: 'up', level: config.logLevel, write: (line) => logStream!.write(line + '\n') }) : ctx.logger;

        const abort = new AbortController();
        const unsubscribe = onShutdown(() => abort.abort());
        const dbs = await openDatabases(config, logger, { exclusive: true, command: 'up' });
        const view = new LiveBlock();
        let timer: NodeJS.Timeout | undefined;
        let dashboard: RunningDashboard | undefined;
        const counters = newCounters();
        const feed = new EventFeed();
        try {
          const where = dbs.embeddedSource ? `embedded Postgres in ${config.stateDir}` : redactUrl(dbs.sourceUrl);
          const header = `totesys-cdc up: ${where}${interactive ? `, logs in ${logFile}` : ''} (Ctrl-C to stop)`;
          process.stdout.write(`${header}\n`);
          if (dbs.embeddedSource) {
            process.stdout.write(`query the warehouse: psql ${redactUrl(dbs.warehouseUrl)} (password in ${config.paths.postgresData}.password), schema ${config.warehouseSchema}\n`);
          }
          if (options.dashboard) {
            const { startDashboard } = await import('../../dashboard/start-dashboard.js');
            dashboard = await startDashboard({ config, counters, feed, simulating: options.simulate, logger, readStatus: () => readPipelineStatus(config, dbs, logger) });
            const token = config.dashboard.token ? ' (add ?token=<TOTESYS_DASHBOARD_TOKEN> or send it as a Bearer token)' : '';
            process.stdout.write(`dashboard: ${dashboard.url}${token}, Prometheus metrics at ${dashboard.url}metrics\n`);
          }
          const seedBar = progressBar('seeding totesys', 'rows');
          await runUpPipeline({
            config,
            sourceUrl: dbs.sourceUrl,
            warehouseUrl: dbs.warehouseUrl,
            embeddedSource: dbs.embeddedSource,
            // Warnings and errors (quarantined events among them) also feed the dashboard's errors panel.
            logger: tapLogger(logger, feed),
            counters,
            signal: abort.signal,
            simulate: options.simulate ? { ratePerSecond: options.rate, seed: options.seed } : null,
            seed: { scale: options.scale, seed: options.seed },
            onSeedProgress: (p) => seedBar.update(p.rows, p.totalRows, p.table),
            captureOutput: logStream,
            onRunning: (counters) => {
              seedBar.stop();
              timer = startView(view, counters, captureStatusFile(config));
            },
          });
        } finally {
          if (timer) clearInterval(timer);
          await dashboard?.close();
          unsubscribe();
          await dbs.close();
          logStream?.end();
        }
        process.stderr.write('totesys-cdc up: stopped\n');
      }),
    );
}

function startView(view: LiveBlock, counters: PipelineCounters, statusFile: string): NodeJS.Timeout {
  let previous = { at: Date.now(), changes: 0, processed: 0, loadedRows: 0 };
  const frame = async () => {
    const now = Date.now();
    const seconds = Math.max((now - previous.at) / 1000, 0.001);
    const rates = {
      changes: (counters.simulator.changes - previous.changes) / seconds,
      processed: (counters.processor.events - previous.processed) / seconds,
      loadedRows: (counters.loader.rows - previous.loadedRows) / seconds,
    };
    previous = { at: now, changes: counters.simulator.changes, processed: counters.processor.events, loadedRows: counters.loader.rows };
    view.draw(renderUpFrame({ counters, capture: await readCaptureStatusFile(statusFile), rates }));
  };
  return setInterval(() => void frame(), 1_000);
}
