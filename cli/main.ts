import { Command, CommanderError, Option } from 'commander';
import { SETTINGS } from '../platform/config.js';
import { registerCaptureCommand } from './commands/capture-command.js';
import { registerDoctorCommand } from './commands/doctor-command.js';
import { registerLoadCommand } from './commands/load-command.js';
import { registerRedriveCommand } from './commands/redrive-command.js';
import { registerResnapshotCommand } from './commands/resnapshot-command.js';
import { registerReplayCommand } from './commands/replay-command.js';
import { registerSeedCommand } from './commands/seed-command.js';
import { registerSimulateCommand } from './commands/simulate-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerSyncCommand } from './commands/sync-command.js';
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
registerSyncCommand(program);
registerStatusCommand(program);
registerSeedCommand(program);
registerSimulateCommand(program);
registerReplayCommand(program);
registerTeardownCommand(program);
registerResnapshotCommand(program);
registerDoctorCommand(program);
registerRedriveCommand(program);
registerCaptureCommand(program);
registerLoadCommand(program);

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
