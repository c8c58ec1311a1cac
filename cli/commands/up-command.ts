import type { Command } from 'commander';

export function registerUpCommand(program: Command): void {
  program.command('up').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc up: not available yet\n');
    process.exitCode = 1;
  });
}
