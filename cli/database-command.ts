import type { Command } from 'commander';
import { type Databases, openDatabases } from '../runtime/databases.js';
import { type CommandContext, commandContext } from './context.js';

/**
 * A command's work with the local databases open: the context from its flags, the databases opened
 * (a postmaster started when none runs; `exclusive` only for `up`), and always closed afterwards,
 * also when the work throws.
 */
export async function withDatabases<T>(
  command: Command,
  service: string,
  exclusive: boolean,
  work: (context: CommandContext & { dbs: Databases }) => Promise<T>,
): Promise<T> {
  const { config, logger } = commandContext(command, service);
  const dbs = await openDatabases(config, logger, { exclusive, command: command.name() });
  try {
    return await work({ config, logger, dbs });
  } finally {
    await dbs.close();
  }
}
