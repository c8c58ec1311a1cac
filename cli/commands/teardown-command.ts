import fs from 'node:fs/promises';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { UserError } from '../../platform/errors.js';
import { readLiveLock } from '../../runtime/instance-lock.js';
import { openDatabases } from '../../runtime/databases.js';
import { assertPurgeable } from '../../runtime/state-dir.js';
import { commandContext } from '../context.js';
import { runAction } from '../run-action.js';

export function registerTeardownCommand(program: Command): void {
  program
    .command('teardown')
    .description('drop the replication slot and publication from the source (and, with --purge, delete local state)')
    .option('--yes', 'do not ask for confirmation')
    .option('--purge', 'also delete the local state directory (embedded databases, stream log, buckets)')
    .addHelpText(
      'after',
      '\nAn abandoned logical slot makes Postgres keep WAL forever until its disk fills. Run teardown when you stop\n' +
        'using totesys-cdc against a database; the next start takes a fresh snapshot.',
    )
    .action((options: { yes?: boolean; purge?: boolean }, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'teardown');
        const { dropCaptureObjects } = await import('../../capture/control/replication-setup.js');
        // Before anything else: a directory without the state marker is never deleted (nor started in).
        if (options.purge) await assertPurgeable(config.stateDir);
        const running = await readLiveLock(config.paths.lockFile);
        if (running) throw new UserError(`totesys-cdc ${running.command} (pid ${running.pid}) is running on this state directory: stop it first`);
        const { slotName, publicationName } = config.capture;
        process.stderr.write(
          `This drops replication slot "${slotName}" and publication "${publicationName}" from the source database.\n` +
            'Changes made after this are not captured until a new snapshot is taken on the next start.\n' +
            (options.purge ? `It also deletes ${config.stateDir} (embedded totesys and warehouse, stream log, buckets).\n` : ''),
        );
        if (!options.yes) await confirm();
        const dbs = await openDatabases(config, logger, { exclusive: true, command: 'teardown' });
        let dropped;
        try {
          dropped = await dropCaptureObjects(dbs.sourceUrl, { slotName, publicationName });
        } finally {
          await dbs.close();
        }
        if (options.purge) {
          await assertPurgeable(config.stateDir);
          await fs.rm(config.stateDir, { recursive: true, force: true });
        }
        process.stdout.write(JSON.stringify({ ...dropped, stateDirDeleted: Boolean(options.purge) }, null, 2) + '\n');
      }),
    );
}

async function confirm(): Promise<void> {
  if (!process.stdin.isTTY) throw new UserError('teardown needs confirmation: pass --yes when not running in a terminal');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question('Type "yes" to continue: ');
    if (answer.trim().toLowerCase() !== 'yes') throw new UserError('teardown cancelled');
  } finally {
    rl.close();
  }
}
