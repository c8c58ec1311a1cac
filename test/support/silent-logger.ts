import { createLogger, type LogFields, type Logger, type LogLevel } from '../../platform/logger.js';

/**
 * Tests configure their logger explicitly (the logger itself never looks at the test runner):
 * `silentLogger` when a test asserts on behaviour, `recordingLogger` when it asserts on the logs.
 */
export { silentLogger } from '../../platform/logger.js';

export interface RecordedLine extends LogFields {
  level: Exclude<LogLevel, 'silent'>;
  message: string;
}

export function recordingLogger(level: LogLevel = 'debug', service = 'test'): { logger: Logger; lines: RecordedLine[] } {
  const lines: RecordedLine[] = [];
  const logger = createLogger({ service, level, write: (line) => lines.push(JSON.parse(line) as RecordedLine) });
  return { logger, lines };
}
