import type { Command } from 'commander';

export function registerSyncCommand(program: Command): void {
  program.command('sync').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc sync: not available yet\n');
    process.exitCode = 1;
  });
}
