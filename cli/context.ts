import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, SETTINGS, type Config, type RawSettings } from '../platform/config.js';
import { createLogger, type Logger, type LogLevel } from '../platform/logger.js';

export interface CommandContext {
  config: Readonly<Config>;
  logger: Logger;
}

let loadedLogLevel: LogLevel | undefined;

/**
 * Builds the validated, frozen config from the global flags (wherever they appear) over the
 * environment, once per command; the command passes it down. Child processes get it through
 * `config.childEnv`, never through process.env.
 */
export function commandContext(command: Command, service = 'cli', env: Record<string, string | undefined> = process.env): CommandContext {
  const options = command.optsWithGlobals() as Record<string, unknown>;
  const flags: Partial<Record<keyof RawSettings, unknown>> = {};
  for (const setting of SETTINGS) if (options[setting.key] !== undefined) flags[setting.key] = options[setting.key];
  const config = loadConfig(flags, env);
  loadedLogLevel = config.logLevel;
  return { config, logger: createLogger({ service, level: config.logLevel }) };
}

/** The log level of the config this command loaded (undefined before, or when it was invalid). */
export function commandLogLevel(): LogLevel | undefined {
  return loadedLogLevel;
}

/** Shared flag parsers: commander hands strings; validate early with a message naming the flag. */
class InvalidFlagError extends InvalidArgumentError {}

export function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidFlagError(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function nonNegativeInteger(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidFlagError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
    return n;
  };
}

