import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cachedBundle } from '../platform/module-bundle.mjs';
import type { Config } from '../platform/config.js';
import { UserError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { abortableDelay } from '../platform/abortable-delay.js';
import { captureStatusFile } from './pipeline-status.js';

const CAPTURE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../capture/main.ts');

export class CaptureFailedError extends UserError {}

/**
 * Runs the capture as a child process, as the design has it locally (in AWS it is its own Fargate
 * task): a crash of the pipeline's other stages never takes the WAL reader with it and vice versa.
 * The child stops cleanly on SIGTERM (confirms only what is durable). Exit code 1 means a permanent
 * error (bad credentials, slot used elsewhere): reported, not restarted. A child killed by a signal
 * we did not send is restarted with backoff; nothing is lost, it resumes from the slot.
 */
export async function superviseCapture(options: {
  config: Readonly<Config>;
  sourceUrl: string;
  logger: Logger;
  signal: AbortSignal;
  output?: NodeJS.WritableStream;
}): Promise<void> {
  const { config, logger, signal } = options;
  let delayMs = 1_000;
  while (!signal.aborted) {
    const startedAt = Date.now();
    // Its cached bundle when there is one (platform/module-bundle.mjs; source-mapped stack traces as
    // under tsx): tsx cost the child about 1 CPU-second at every start.
    const bundle = await cachedBundle(pathToFileURL(CAPTURE_MAIN));
    const child = spawn(process.execPath, bundle ? ['--enable-source-maps', fileURLToPath(bundle)] : ['--import', 'tsx', CAPTURE_MAIN], {
      env: {
        ...process.env,
        ...config.childEnv,
        TOTESYS_SOURCE_URL: options.sourceUrl,
        TOTESYS_STATE_DIR: config.stateDir,
        TOTESYS_CAPTURE_STATUS_FILE: captureStatusFile(config),
        TOTESYS_PARENT_PID: String(process.pid),
      },
      // Own process group: Ctrl-C reaches only `up`, which stops the child after the other stages
      // are told to stop; the child stops itself if `up` dies (TOTESYS_PARENT_PID).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lastLines: string[] = [];
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        options.output ? options.output.write(chunk) : process.stderr.write(chunk);
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          lastLines.push(line);
          if (lastLines.length > 5) lastLines.shift();
        }
      });
    }
    logger.info('capture process started', { pid: child.pid });
    const stop = () => child.kill('SIGTERM');
    signal.addEventListener('abort', stop, { once: true });
    const { code, signal: killedBy } = await exited(child);
    signal.removeEventListener('abort', stop);
    if (signal.aborted) return;
    if (code === 1) throw new CaptureFailedError(`capture stopped with an error: ${lastErrorMessage(lastLines)}`);
    logger.warn('capture process ended unexpectedly; restarting', { code, signal: killedBy, restartInMs: delayMs });
    await abortableDelay(delayMs, signal);
    delayMs = Date.now() - startedAt > 60_000 ? 1_000 : Math.min(delayMs * 2, 30_000);
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

function lastErrorMessage(lines: string[]): string {
  for (const line of [...lines].reverse()) {
    try {
      const record = JSON.parse(line) as { level?: string; message?: string; error?: { message?: string } };
      if (record.level === 'error') return record.error?.message ? `${record.message}: ${record.error.message}` : (record.message ?? line);
    } catch {
      if (line.trim()) return line.trim();
    }
  }
  return 'see the capture log lines above';
}
