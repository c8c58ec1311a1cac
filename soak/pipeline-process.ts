import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { CLI, REPO_ROOT } from '../test/support/cli.js';
import { isProcessAlive } from '../platform/process-alive.js';
import type { KillPhase } from './trial-plan.js';

/**
 * A `totesys-cdc sync` or `up` run as its own process, as a user runs it. Its JSON log lines tell
 * the soak which phase it is in (when to kill) and the pid of `up`'s capture child; they are
 * appended to a log file of the trial for diagnosis.
 */
export interface PipelineProcessOptions {
  command: 'sync' | 'up';
  env: Record<string, string>;
  logFile: string;
}

export interface ProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class PipelineProcess {
  readonly child: ChildProcess;
  readonly ended: Promise<ProcessEnd>;
  phase: KillPhase | 'starting' | 'done' = 'starting';
  snapshotPublished = false;
  /** Pids of every capture child `up` started (the latest last). */
  readonly captureChildPids: number[] = [];
  readonly lastErrors: string[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly options: PipelineProcessOptions) {
    const args = [CLI, options.command, ...(options.command === 'up' ? ['--no-simulate'] : [])];
    this.child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = fs.createWriteStream(options.logFile, { flags: 'a' });
    log.write(`--- ${new Date().toISOString()} totesys-cdc ${options.command} (pid ${this.child.pid})\n`);
    let pending = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.ended = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.phase = 'done';
        log.end(`--- exit code ${code} signal ${signal}\n`);
        this.notify();
        resolve({ code, signal });
      }),
    );
  }

  get running(): boolean {
    return this.phase !== 'done';
  }

  private onLine(line: string): void {
    let record: { message?: string; level?: string; pid?: number; error?: unknown };
    try {
      record = JSON.parse(line);
    } catch {
      if (line.trim()) this.remember(line.trim());
      return;
    }
    const message = record.message ?? '';
    if (message === 'slot created, reading initial snapshot') this.phase = 'snapshot';
    else if (message === 'initial snapshot published') {
      this.snapshotPublished = true;
      this.phase = 'streaming';
    } else if (message === 'sync: capture') this.phase = 'streaming';
    else if (message === 'sync: process') this.phase = 'processing';
    else if (message === 'sync: load') this.phase = 'loading';
    else if (message === 'capture process started' && typeof record.pid === 'number') this.captureChildPids.push(record.pid);
    if (record.level === 'error') this.remember(`${message}${record.error ? `: ${JSON.stringify(record.error)}` : ''}`);
    if (this.options.command === 'up' && this.phase === 'starting' && message === 'capture process started') this.phase = 'streaming';
    this.notify();
  }

  private remember(line: string): void {
    this.lastErrors.push(line.slice(0, 500));
    if (this.lastErrors.length > 5) this.lastErrors.shift();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Resolves when `predicate` holds (checked on every log line) or the process ended; true when it held. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (predicate()) finish(true);
        else if (!this.running) finish(false);
      };
      const timer = setTimeout(() => finish(predicate()), timeoutMs);
      const finish = (held: boolean) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(held);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** SIGKILL of the process itself: nothing it holds in memory is flushed. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** The live capture child of `up`, if any. */
  liveCaptureChild(): number | undefined {
    const pid = this.captureChildPids.at(-1);
    return pid !== undefined && isProcessAlive(pid) ? pid : undefined;
  }
}

/** Waits until none of `pids` is alive (a killed `up`'s capture child stops itself within seconds). */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((pid) => isProcessAlive(pid));
    if (alive.length === 0 || Date.now() > until) return alive;
    await new Promise((r) => setTimeout(r, 100));
  }
}
