import type { Command } from 'commander';

export function registerSimulateCommand(program: Command): void {
  program.command('simulate').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc simulate: not available yet\n');
    process.exitCode = 1;
  });
}
