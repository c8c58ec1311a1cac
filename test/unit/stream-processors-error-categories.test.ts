import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalDirObjectStore } from '../../bucket/local-dir-object-store.js';
import { serializeChangeEvent } from '../../contracts/change-event.js';
import { BadInputError, errorCategory, PipelineError } from '../../platform/errors.js';
import { decodeRecords } from '../../stream-processors/decode-records.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { silentLogger } from '../support/silent-logger.js';

/**
 * A bug injected into one transform: currency_id 666 trips it. The real transform runs for every
 * other event, so the same batch also shows what bad input does.
 */
const injected = vi.hoisted(() => ({ kind: 'none' as 'none' | 'type-error' | 'range-error' | 'decoder' }));
vi.mock('../../stream-processors/transform/dim-currency.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../stream-processors/transform/dim-currency.js')>();
  return {
    ...original,
    dimCurrencyRow: (...args: Parameters<typeof original.dimCurrencyRow>) => {
      const event = args[0];
      if (event.after?.currency_id === 666) {
        if (injected.kind === 'type-error') (undefined as unknown as { x: number }).x;
        if (injected.kind === 'range-error') new Array(-1);
      }
      return original.dimCurrencyRow(...args);
    },
  };
});

vi.mock('../../contracts/change-event.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../contracts/change-event.js')>();
  return {
    ...original,
    parseChangeEvent: (text: string) => {
      if (injected.kind === 'decoder') throw new TypeError('injected decoder bug');
      return original.parseChangeEvent(text);
    },
  };
});

let dir: string;
let processed: LocalDirObjectStore;
let state: LocalJoinStateStore;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'error-categories-'));
  processed = new LocalDirObjectStore(path.join(dir, 'processed'));
  state = await LocalJoinStateStore.open(path.join(dir, 'state'), silentLogger);
});

afterEach(async () => {
  injected.kind = 'none';
  await state.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function quarantined(): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of processed.list('quarantine/')) keys.push(object.key);
  return keys;
}

const batch = () => [
  changeEvent('currency', 'c', sourceRow.currency({ currency_id: 1, currency_code: 'GBP' }), { lsn: 0x100 }),
  changeEvent('currency', 'c', sourceRow.currency({ currency_id: 666, currency_code: 'EUR' }), { lsn: 0x200 }),
  changeEvent('sales_order', 'c', sourceRow.sales_order({ units_sold: 'twelve' }), { lsn: 0x300 }),
];

describe('quarantine decisions go by error category', () => {
  it('quarantines bad input and processes the rest', async () => {
    const manifest = await processEvents(batch(), { state, processed, logger: silentLogger });
    expect(manifest?.eventCount).toBe(2);
    expect(await quarantined()).toHaveLength(1);
  });

  for (const kind of ['type-error', 'range-error'] as const) {
    it(`fails the whole batch on a programming error (${kind}) instead of quarantining the event`, async () => {
      injected.kind = kind;
      await expect(processEvents(batch(), { state, processed, logger: silentLogger })).rejects.toThrow(kind === 'type-error' ? TypeError : RangeError);
      expect(await quarantined()).toEqual([]);
      const manifests: string[] = [];
      for await (const object of processed.list('manifests/')) manifests.push(object.key);
      expect(manifests).toEqual([]);
    });
  }

  it('decodeRecords quarantines contract violations but not a bug in the decoder', () => {
    const good = serializeChangeEvent(changeEvent('currency', 'c', sourceRow.currency(), { lsn: 0x100 }));
    const record = (text: string) => ({ shardId: 's', sequenceNumber: '1', data: Buffer.from(text), arrivalMs: 0 });
    const decoded = decodeRecords([record(good), record('{not json'), record('{"v":1,"table":"_prisma_migrations"}')]);
    expect(decoded.events).toHaveLength(1);
    expect(decoded.poison.map((p) => p.reason)).toEqual(['malformed-json', 'unknown-table']);
    injected.kind = 'decoder';
    expect(() => decodeRecords([record(good)])).toThrow('injected decoder bug');
  });

  it('reads the category of any thrown value, and treats an unknown error as permanent, never as bad input', () => {
    expect(errorCategory(new BadInputError('x'))).toBe('bad-input');
    expect(errorCategory(new PipelineError('x', { retryable: true }))).toBe('retryable');
    expect(errorCategory(new RangeError('x'))).toBe('permanent');
    expect(errorCategory(new TypeError('x'))).toBe('permanent');
    expect(errorCategory(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe('retryable');
    expect(errorCategory(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toBe('permanent');
    // Serialised across a worker thread: only the plain fields survive.
    expect(errorCategory({ message: 'x', category: 'bad-input' })).toBe('bad-input');
    const bad = new BadInputError('bad value', { context: { table: 'sales_order', lsn: '0/10' } });
    expect(bad).toMatchObject({ category: 'bad-input', retryable: false, context: { table: 'sales_order', lsn: '0/10' } });
  });
});
