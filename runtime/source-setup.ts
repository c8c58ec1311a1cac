import { UserError } from '../platform/errors.js';
import { applySourceSchema } from '../totesys/source-schema.js';
import { createPostgresClient } from '../platform/postgres-client.js';

/**
 * The totesys schema is created in the embedded database, or in an external one only with
 * --create-source-schema: never in someone else's database by surprise.
 */
export async function prepareSourceSchema(sourceUrl: string, allowCreate: boolean): Promise<void> {
  const client = createPostgresClient({ url: sourceUrl, applicationName: 'totesys-cdc-source-setup' });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1)",
      [['address', 'sales_order', 'payment']],
    );
    if (rows[0].n === 3) return;
    if (!allowCreate) throw new UserError('the source database has no totesys tables; pass --create-source-schema to create them there');
    await applySourceSchema(client);
  } finally {
    await client.end();
  }
}

/** True when totesys has no orders yet (a fresh embedded database that `up` seeds). */
export async function sourceIsEmpty(sourceUrl: string): Promise<boolean> {
  const client = createPostgresClient({ url: sourceUrl, applicationName: 'totesys-cdc-source-setup' });
  await client.connect();
  try {
    const { rows } = await client.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM address) AS any');
    return !rows[0].any;
  } finally {
    await client.end();
  }
}
