import type { Command } from 'commander';

export function registerCaptureCommand(program: Command): void {
  program.command('capture').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc capture: not available yet\n');
    process.exitCode = 1;
  });
}
