import { describe, expect, it } from 'vitest';
import { loadPerManifestAndBulk } from '../support/bulk-load-manifests.js';
import { loadPendingManifests } from '../../loader/run-loader.js';
import { MIGRATIONS, migrateWarehouseSchema } from '../../loader/warehouse-schema.js';
import { silentLogger } from '../../platform/logger.js';
import { createProcessedBucket, staffDim, writeBatch } from '../support/processed-batch-factory.js';
import { useWarehouseTestbed } from '../support/warehouse-testbed.js';

/**
 * Rule D1 (loader/version-rules.ts) for the joined dimensions, in Postgres: the row built from the
 * same staff version and a newer department version wins in whichever order the manifests load
 * (issue 14 item 3: the former version let equal versions keep the older content), a newer staff
 * version wins whatever department version either row carries, and the bulk load keeps the same.
 */
describe('loader: joined dimensions keep the row of the newest own row, then the newest joined row', () => {
  const testbed = useWarehouseTestbed('loader_joined_versions');

  const rows = [
    // Staff 1 at (0x500, 2) joined with department versions 0x400, then 0x600: the latter must win.
    staffDim(1, 0x500n, { version_seq: 2, department_name: 'Older department', joined_version_lsn: 0x400n, joined_version_seq: 7 }),
    staffDim(1, 0x500n, { version_seq: 2, department_name: 'Newer department', joined_version_lsn: 0x600n, joined_version_seq: 0 }),
    // Staff 2 moved at 0x700 to a department last changed at 0x100; the row it left had one of 0x900.
    staffDim(2, 0x600n, { department_name: 'Left', joined_version_lsn: 0x900n }),
    staffDim(2, 0x700n, { department_name: 'Joined', joined_version_lsn: 0x100n }),
  ];
  const expected = [
    { staff_id: 1, department_name: 'Newer department' },
    { staff_id: 2, department_name: 'Joined' },
  ];
  const staff = async (schema: string) => (await testbed.client.query(`SELECT staff_id, department_name FROM ${schema}.dim_staff ORDER BY staff_id`)).rows;

  for (const [label, order] of [
    ['in stream order', [0, 1, 2, 3]],
    ['in reverse order', [3, 2, 1, 0]],
  ] as const) {
    it(`per manifest ${label}, and the bulk load of the same manifests`, async () => {
      const bucket = await createProcessedBucket();
      const schema = label === 'in stream order' ? 'forward' : 'reverse';
      try {
        const written = [];
        for (const i of order) written.push(await writeBatch(bucket.store, { dim_staff: [rows[i]] }));
        expect(await loadPerManifestAndBulk(testbed.db.url, bucket.store, written, schema, staff)).toEqual({ perManifest: expected, bulk: expected });
      } finally {
        await bucket.cleanup();
      }
    });
  }

  it('migration 4 adds the joined version columns and resets rows stored under the former version', async () => {
    const c = testbed.client;
    await c.query('CREATE SCHEMA star_v3');
    await c.query('CREATE TABLE star_v3.schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
      for (const sql of migration.statements('star_v3')) await c.query(sql);
      await c.query(`INSERT INTO star_v3.schema_version (version, description) VALUES ($1, 'before')`, [migration.version]);
    }
    // A version-3 warehouse had no joined version columns, and versions (highest of both sides, 2·seq + 1).
    for (const table of ['dim_staff', 'dim_counterparty']) await c.query(`ALTER TABLE star_v3.${table} DROP COLUMN joined_version_lsn, DROP COLUMN joined_version_seq`);
    await c.query(`INSERT INTO star_v3.dim_staff (staff_id, first_name, department_name, version_lsn, version_seq, is_deleted) VALUES (1, 'Kept', 'Sales', 2304, 5, false)`);
    expect((await migrateWarehouseSchema(c, 'star_v3')).applied).toEqual(MIGRATIONS.filter((m) => m.version >= 4).map((m) => m.version));
    const { rows } = await c.query('SELECT staff_id, first_name, department_name, version_lsn::int, version_seq, joined_version_lsn::int, joined_version_seq FROM star_v3.dim_staff');
    expect(rows).toEqual([{ staff_id: 1, first_name: 'Kept', department_name: 'Sales', version_lsn: 0, version_seq: 0, joined_version_lsn: 0, joined_version_seq: 0 }]);
    // The next row built for the key replaces it, whatever its version (here one older than the stored LSN).
    const bucket = await createProcessedBucket();
    try {
      await writeBatch(bucket.store, { dim_staff: [staffDim(1, 0x100n, { first_name: 'Rebuilt', joined_version_lsn: 0x80n })] });
      await loadPendingManifests({ warehouseUrl: testbed.db.url, processed: bucket.store, logger: silentLogger, schema: 'star_v3' });
      expect((await c.query('SELECT first_name FROM star_v3.dim_staff')).rows).toEqual([{ first_name: 'Rebuilt' }]);
    } finally {
      await bucket.cleanup();
    }
  });
});
