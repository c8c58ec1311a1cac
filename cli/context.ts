import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, SETTINGS, type Config, type RawSettings } from '../platform/config.js';
import { createLogger, type Logger } from '../platform/logger.js';

export interface CommandContext {
  config: Readonly<Config>;
  logger: Logger;
}

/** Builds the validated config from the global flags (wherever they appear) and the environment. */
export function commandContext(command: Command, service = 'cli'): CommandContext {
  const options = command.optsWithGlobals() as Record<string, unknown>;
  const flags: Partial<Record<keyof RawSettings, unknown>> = {};
  for (const setting of SETTINGS) if (options[setting.key] !== undefined) flags[setting.key] = options[setting.key];
  const config = loadConfig(flags);
  // Child processes (the capture) build their config from the environment: hand them the flags.
  for (const setting of SETTINGS) if (flags[setting.key] !== undefined) process.env[setting.env] = String(flags[setting.key]);
  process.env.TOTESYS_LOG_LEVEL = config.logLevel;
  return { config, logger: createLogger({ service, level: config.logLevel }) };
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

