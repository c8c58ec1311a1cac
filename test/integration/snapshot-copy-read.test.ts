import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../capture/snapshot/initial-snapshot.js';
import { PRIMARY_KEYS, SOURCE_TABLES } from '../../contracts/source-tables.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import { useCaptureSource, useExportedSnapshot } from '../support/capture-source.js';
import { withClient } from '../support/postgres.js';
import { readSourceState } from '../support/totesys-source.js';

/**
 * The initial snapshot reads each table with one `COPY (SELECT col::text …) TO STDOUT` and parses
 * its text format itself (capture/snapshot/copy-text-rows.ts). Its rows must be exactly those the
 * query protocol returns for the same `col::text` select list (what the capture read through a
 * cursor before, and what the streaming path maps), for every column type of totesys and for text
 * that the COPY format escapes: backslashes, tabs, newlines, carriage returns, `\N` as a string,
 * empty strings, NULLs, and multi-byte UTF-8.
 */
const AWKWARD = ['back\\slash', 'tab\there', 'new\nline', 'cr\rlf\r\n', '\\N', '', ' ', 'quote"s\'', 'vt\v ff\f bs\b', 'pound £ euro € emoji 😀 kanji 漢字', '\\\\t', 'end\\'];

describe('initial snapshot: rows read by COPY', () => {
  const source = useCaptureSource('snapshot copy read', { salesOrders: 1234 });
  const snapshot = useExportedSnapshot(source, () =>
    withClient(source.url, async (c) => {
      for (const text of AWKWARD) {
        await c.query('INSERT INTO design (design_name, file_location, file_name) VALUES ($1, $2, $3)', [text, `/${text}`, `${text}.json`]);
        await c.query('INSERT INTO address (address_line_1, address_line_2, district, city, postal_code, country, phone) VALUES ($1, $2, NULL, $3, $4, $5, $6)', [text, text === '' ? null : text, text, 'P', 'C', '0']);
      }
    }),
  );

  it('gives every table exactly the rows the query protocol returns for the same select, in key order', async () => {
    const read = new Map<string, Map<string, Record<string, unknown>>>();
    const order = new Map<string, unknown[]>();
    const result = await readSnapshot({
      connectionString: source.url,
      snapshotName: snapshot.name,
      snapshotLsn: '0/2000000',
      batchRows: 500,
      publishRows: 200,
      onEvents: async (events) => {
        for (const encoded of events) {
          const event = JSON.parse(encoded.json) as ChangeEvent;
          const key = event.key[PRIMARY_KEYS[event.table]];
          if (!read.has(event.table)) read.set(event.table, new Map());
          read.get(event.table)!.set(String(key), event.after!);
          order.set(event.table, [...(order.get(event.table) ?? []), key]);
        }
      },
    });
    const expected = await readSourceState(source.url);
    expect(result.rows).toBe([...expected.values()].reduce((n, rows) => n + rows.size, 0));
    for (const table of SOURCE_TABLES) expect(read.get(table), table).toEqual(expected.get(table));
    expect([...read.get('design')!.values()].map((row) => row.design_name)).toEqual(['Steel', ...AWKWARD]);
    for (const [table, keys] of order) expect(keys, table).toEqual([...keys].sort((a, b) => Number(a) - Number(b)));
  });

  it('a publisher failure in the middle of a COPY fails the read at once and closes its session', async () => {
    let batches = 0;
    const reading = readSnapshot({
      connectionString: source.url,
      snapshotName: snapshot.name,
      snapshotLsn: '0/2000000',
      tables: ['sales_order'],
      publishRows: 100,
      onEvents: async () => {
        if (++batches === 3) throw new Error('stream refused the batch');
      },
    });
    await expect(reading).rejects.toThrow('stream refused the batch');
    expect(batches).toBe(3);
    // The session that was copying is gone (its transaction rolled back by the disconnect).
    const sessions = async () =>
      withClient(source.url, async (c) => (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'totesys-cdc-snapshot'")).rows[0]!.n);
    const deadline = Date.now() + 5_000;
    while ((await sessions()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await sessions()).toBe(0);
  });
});
