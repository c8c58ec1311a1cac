/**
 * Child process for postgres-client.test.ts. Usage:
 *   node --import tsx terminated-connection-child.ts <url> <factory|raw>
 * Opens one client (through the factory, or a bare pg.Client), has a second connection
 * pg_terminate_backend it while idle, waits for the drop to arrive, then queries again and prints
 * one JSON line: the error's category and message. A bare client dies of the unhandled 'error'
 * event before printing anything.
 */
import pg from 'pg';
import { errorCategory } from '../../platform/errors.js';
import { createPostgresClient } from '../../platform/postgres-client.js';

const [url, mode] = process.argv.slice(2);
const client = mode === 'raw' ? new pg.Client({ connectionString: url }) : createPostgresClient({ url, applicationName: 'totesys-cdc-test-victim' });
await client.connect();
const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
const killer = createPostgresClient({ url, applicationName: 'totesys-cdc-test-killer' });
await killer.connect();
await killer.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
await killer.end();
// The server's notice and the socket close arrive asynchronously.
await new Promise((resolve) => setTimeout(resolve, 500));
try {
  await client.query('SELECT 1');
  process.stdout.write(`${JSON.stringify({ outcome: 'query succeeded' })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ outcome: 'query failed', category: errorCategory(error), name: (error as Error).name, message: (error as Error).message })}\n`);
}
await client.end().catch(() => undefined);
