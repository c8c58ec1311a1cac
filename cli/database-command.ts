import type { Command } from 'commander';
import { type Databases, openDatabases } from '../runtime/databases.js';
import { type CommandContext, commandContext } from './context.js';
import { runAction } from './run-action.js';

/**
 * A command's work with the local databases open: the context from its flags, the databases opened
 * (a postmaster started when none runs; `exclusive` only for `up`), and always closed afterwards,
 * also when the work throws.
 */
async function withDatabases<T>(
  command: Command,
  service: string,
  exclusive: boolean,
  work: (context: DatabaseCommandContext) => Promise<T>,
): Promise<T> {
  const { config, logger } = commandContext(command, service);
  const dbs = await openDatabases(config, logger, { exclusive, command: command.name() });
  try {
    return await work({ config, logger, dbs });
  } finally {
    await dbs.close();
  }
}

export type DatabaseCommandContext = CommandContext & { dbs: Databases };

/** A command module's work; its result is the process's exit code. */
export interface DatabaseCommandModule {
  run(context: DatabaseCommandContext): Promise<number>;
}

/**
 * Registers a command whose whole work runs with the local databases open (withDatabases). Its
 * module is imported only when the command runs (`load`), so `--help` and the other commands do not
 * load the capture, processor or loader code; it is imported while the databases open.
 */
export function registerDatabaseCommand(
  program: Command,
  command: { name: string; description: string; service: string; exclusive: boolean },
  load: () => Promise<DatabaseCommandModule>,
): Command {
  return program
    .command(command.name)
    .description(command.description)
    .action((_options: unknown, invoked: Command) =>
      runAction(() => {
        // The module loads while the databases open (the postmaster's start is mostly waiting on
        // another process); a failure to load is seen where it is awaited.
        const module = load();
        module.catch(() => undefined);
        return withDatabases(invoked, command.service, command.exclusive, async (context) => (await module).run(context));
      }),
    );
}
