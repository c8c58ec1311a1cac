import { databaseUrlsFromFields } from './database-url-from-env.js';

/**
 * The image's `cli.mjs`: the totesys-cdc CLI as one-off ECS tasks run it. ECS injects the databases'
 * secrets as fields (TOTESYS_SOURCE_HOST, …, TOTESYS_WAREHOUSE_PASSWORD); the CLI reads
 * TOTESYS_SOURCE_URL and TOTESYS_WAREHOUSE_URL, so they are built here, in this process only,
 * before the CLI loads its configuration. Then the CLI runs as it does locally.
 */
try {
  databaseUrlsFromFields(process.env);
} catch (error) {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', service: 'cli', message: (error as Error).message })}\n`);
  process.exit(2);
}
await import('../../cli/main.js');
