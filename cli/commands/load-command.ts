import type { Command } from 'commander';

export function registerLoadCommand(program: Command): void {
  program.command('load').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc load: not available yet\n');
    process.exitCode = 1;
  });
}
