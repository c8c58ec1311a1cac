import { Option, type Command } from 'commander';
import { openDatabases } from '../../runtime/databases.js';
import { commandContext } from '../context.js';
import { EXIT, runAction } from '../run-action.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description("check the source's and the warehouse's prerequisites and print the SQL that fixes each failure")
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--only <part>', 'check only the source or only the warehouse').choices(['source', 'warehouse']))
    .addHelpText(
      'after',
      `
Checks the source: wal_level=logical (on RDS rds.logical_replication=1), the right to stream (REPLICATION or
rds_replication), free replication slots and WAL senders, read access to the 11 tables, replica identity, and
who may create or owns the publication; and the warehouse: connection, schema rights, migration state.
Read-only. Exit code 0 when every check passes (warnings allowed), 1 when one fails.

Databases: --source-url / --warehouse-url; in the ECS task the source secret's fields (TOTESYS_SOURCE_HOST,
...) and TOTESYS_WAREHOUSE_SECRET_ARN; otherwise the embedded ones of the state directory.`,
    )
    .action((options: { json?: boolean; only?: 'source' | 'warehouse' }, command: Command) =>
      runAction(async () => {
        const { config, logger } = commandContext(command, 'doctor');
        const { resolveExternalUrls, secretsManagerGetSecret } = await import('../../ops/database-urls.js');
        const { runDoctor } = await import('../../ops/doctor/run-doctor.js');
        const { renderDoctorReport } = await import('../../ops/doctor/render-report.js');
        const urls = await resolveExternalUrls(config, secretsManagerGetSecret());
        const wantSource = options.only !== 'warehouse';
        const wantWarehouse = options.only !== 'source';
        // Only local use (no URL configured) touches the state directory and the embedded Postgres.
        const needEmbedded = (wantSource && !urls.sourceUrl) || (wantWarehouse && !urls.warehouseUrl);
        const dbs = needEmbedded ? await openDatabases({ ...config, ...urls }, logger, { exclusive: false, command: 'doctor' }) : undefined;
        try {
          const report = await runDoctor({
            sourceUrl: wantSource ? (urls.sourceUrl ?? dbs?.sourceUrl) : undefined,
            warehouseUrl: wantWarehouse ? (urls.warehouseUrl ?? dbs?.warehouseUrl) : undefined,
            warehouseSchema: config.warehouseSchema,
            capture: config.capture,
          });
          process.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : renderDoctorReport(report));
          return report.ok ? EXIT.ok : EXIT.failed;
        } finally {
          await dbs?.close();
        }
      }),
    );
}
