import { Command, CommanderError, Option } from 'commander';
import { SETTINGS } from '../platform/config.js';
import { registerDatabaseCommand } from './database-command.js';
import { registerDoctorCommand } from './commands/doctor-command.js';
import { registerRedriveCommand } from './commands/redrive-command.js';
import { registerResnapshotCommand } from './commands/resnapshot-command.js';
import { registerReplayCommand } from './commands/replay-command.js';
import { registerSeedCommand } from './commands/seed-command.js';
import { registerSimulateCommand } from './commands/simulate-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerTeardownCommand } from './commands/teardown-command.js';
import { registerUpCommand } from './commands/up-command.js';

// Everything the CLI and its children create (state directory, archive, logs) is private to the
// user running it: 0700 directories, 0600 files (SECURITY.md).
process.umask(0o077);

const program = new Command('totesys-cdc')
  .description('Streaming change-data-capture from the totesys Postgres database into a star-schema warehouse.')
  .showHelpAfterError('(add --help for usage)')
  // Usage errors exit 2 like every other usage or configuration error (commander's own default is 1).
  .exitOverride()
  .configureHelp({ sortSubcommands: false, showGlobalOptions: true });

// Global options, one per setting; each also reads its environment variable (see platform/config.ts).
for (const setting of SETTINGS) {
  if (setting.flag) program.addOption(new Option(setting.flag, `${setting.description} [env ${setting.env}]`));
}

registerUpCommand(program);
registerDatabaseCommand(program, { name: 'sync', description: "bring the warehouse up to the source's current WAL position through every stage, then exit with a JSON summary", service: 'sync', exclusive: true }, () => import('./commands/sync-command.js'));
registerStatusCommand(program);
registerSeedCommand(program);
registerSimulateCommand(program);
registerReplayCommand(program);
registerTeardownCommand(program);
registerResnapshotCommand(program);
registerDoctorCommand(program);
registerRedriveCommand(program);
registerDatabaseCommand(program, { name: 'capture', description: 'run only the capture process in the foreground: snapshot, then tail the WAL into the change stream (Ctrl-C stops cleanly)', service: 'capture', exclusive: false }, () => import('./commands/capture-command.js'));
registerDatabaseCommand(program, { name: 'load', description: 'run the loader once: load every processed manifest not yet in the warehouse, print a JSON summary', service: 'loader', exclusive: false }, () => import('./commands/load-command.js'));

program.addHelpText(
  'after',
  `
Quick start:
  npm start                      same as: totesys-cdc up (embedded Postgres, seeded totesys, live changes)
  totesys-cdc status             stream lag and warehouse freshness
  totesys-cdc sync               bring the warehouse up to the source's current position, then exit

Every option can also be set by its environment variable; flags win.`,
);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // commander has already printed the message (or the help); only the exit code is left to set.
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
