import type { Command } from 'commander';

export function registerReplayCommand(program: Command): void {
  program.command('replay').description('(being built)').action(() => {
    process.stderr.write('totesys-cdc replay: not available yet\n');
    process.exitCode = 1;
  });
}
