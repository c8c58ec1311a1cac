import type { Command } from 'commander';

export function registerStatusCommand(program: Command): void {
  program.command('status').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc status: not available yet\n');
    process.exitCode = 1;
  });
}
