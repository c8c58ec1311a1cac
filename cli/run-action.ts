import { ConfigError, UserError, errorMessage } from '../platform/errors.js';
import { redactSecrets } from '../platform/redact.js';

/** Exit codes: 0 ok, 1 failure, 2 bad usage or configuration, 3 partial success (replay). */
export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3 } as const;

/**
 * Runs a command action: user errors (bad flags, unreachable database, wrong password) print one
 * clear line and no stack trace; unexpected errors print their message, and the stack only with
 * --log-level debug.
 */
export async function runAction(action: () => Promise<number | void>): Promise<void> {
  try {
    const code = await action();
    process.exitCode = code ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`totesys-cdc: ${redactSecrets(error.message)}\n`);
      process.exitCode = error instanceof ConfigError ? EXIT.usage : EXIT.failed;
      return;
    }
    const debug = process.env.TOTESYS_LOG_LEVEL === 'debug' || process.argv.includes('debug');
    process.stderr.write(`totesys-cdc: unexpected error: ${redactSecrets(errorMessage(error))}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${redactSecrets(error.stack)}\n`);
    else process.stderr.write('(run with --log-level debug for the stack trace)\n');
    process.exitCode = EXIT.failed;
  }
}
