import { describe, expect, it } from 'vitest';
import { writeQuarantine } from '../../stream-processors/quarantine.js';
import { summariseLocalQuarantine } from '../../runtime/quarantine-summary.js';
import { useTempObjectStore } from '../support/temp-object-store.js';

describe('the quarantine as status shows it', () => {
  const temp = useTempObjectStore('quarantine-summary-');

  it('counts entries and groups the newest by reason, table and column, values elided', async () => {
    const record = (id: string, table: string) => JSON.stringify({ v: 1, id, table, op: 'u' });
    for (const [i, value] of ['next Tuesday', 'soon', 'never'].entries()) {
      await writeQuarantine(temp.store, '', {
        reason: 'invalid-value',
        error: `sales_order.agreed_delivery_date: expected a YYYY-MM-DD calendar date, got ${JSON.stringify(value)}`,
        record: record(`0/1/${i}`, 'sales_order'),
        date: `2026-12-0${i + 1}`,
      });
    }
    await writeQuarantine(temp.store, '', { reason: 'unknown-table', error: 'unknown source table "_prisma_migrations"', record: record('0/2/0', '_prisma_migrations'), date: '2026-12-02' });
    await writeQuarantine(temp.store, '', { reason: 'malformed-json', error: 'record is not UTF-8', record: new Uint8Array([0xff, 0xfe]), date: '2026-12-02' });

    const summary = await summariseLocalQuarantine(temp.store);
    expect(summary).toMatchObject({ objects: 5, limited: false, newestDate: '2026-12-03' });
    expect(summary.groups).toEqual([
      { reason: 'invalid-value', table: 'sales_order', column: 'agreed_delivery_date', error: 'sales_order.agreed_delivery_date: expected a YYYY-MM-DD calendar date, got "…"', count: 3, newestDate: '2026-12-03' },
      expect.objectContaining({ reason: 'unknown-table', table: '_prisma_migrations', column: null, count: 1 }),
      expect.objectContaining({ reason: 'malformed-json', table: null, column: null, count: 1 }),
    ]);
    expect(JSON.stringify(summary)).not.toMatch(/next Tuesday|soon|never/);
  });

  it('stops counting at the limit and opens only the newest entries', async () => {
    for (let i = 0; i < 6; i++) {
      await writeQuarantine(temp.store, '', { reason: 'invalid-event', error: `bad ${i}`, record: `{"n":${i}}`, date: `2026-12-0${i + 1}` });
    }
    const summary = await summariseLocalQuarantine(temp.store, { limit: 5, detailLimit: 2 });
    expect(summary).toMatchObject({ objects: 5, limited: true, newestDate: '2026-12-05' });
    expect(summary.groups.map((g) => g.error).sort()).toEqual(['bad 3', 'bad 4']);
  });
});
