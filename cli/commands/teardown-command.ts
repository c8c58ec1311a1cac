import type { Command } from 'commander';

export function registerTeardownCommand(program: Command): void {
  program.command('teardown').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc teardown: not available yet\n');
    process.exitCode = 1;
  });
}
