import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../platform/logger.js';
import { DynamoDbJoinStateStore, STATE_TABLE_ATTRIBUTES, STATE_TABLE_KEY_SCHEMA } from '../../stream-processors/state/dynamodb-join-state-store.js';
import type { JoinStateStore } from '../../stream-processors/state/join-state-store.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import type { VersionedRow } from '../../stream-processors/transform/versioned-row.js';
import { sourceRow } from '../support/change-event-factory.js';
import { startDynalite, type DynaliteServer } from '../support/dynalite-server.js';

const v = (lsn: number, seq = 0) => ({ lsn: BigInt(lsn), seq });
const staff = (o: Record<string, unknown>, lsn: number, seq = 0, deleted = false): VersionedRow => ({ row: sourceRow.staff(o as never), version: v(lsn, seq), deleted });

let tmp: string;
let dynalite: DynaliteServer;
let tableNumber = 0;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'join-state-'));
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite?.stop();
  await fs.rm(tmp, { recursive: true, force: true });
});

const adapters: [string, () => Promise<JoinStateStore>][] = [
  ['local', () => LocalJoinStateStore.open(path.join(tmp, `store-${++tableNumber}`), silentLogger)],
  ['memory (replay)', async () => new MemoryJoinStateStore()],
  [
    'dynamodb (dynalite)',
    async () => {
      const name = `state-${++tableNumber}`;
      await dynalite.createTable(name, STATE_TABLE_KEY_SCHEMA, STATE_TABLE_ATTRIBUTES);
      return new DynamoDbJoinStateStore(dynalite.client, name);
    },
  ],
];

describe.each(adapters)('JoinStateStore contract: %s', (_name, open) => {
  it('stores and reads back a row with its version; unknown rows are null', async () => {
    const store = await open();
    const value = staff({ staff_id: 1, last_name: "O'Brien \u00e9" }, 0x16b37a0, 3);
    expect(await store.put('staff', 1, value)).toEqual(value);
    expect(await store.get('staff', 1)).toEqual(value);
    expect(await store.get('staff', 2)).toBeNull();
    expect(await store.get('department', 1)).toBeNull();
    await store.close();
  });

  it('keeps the highest version: older or equal puts lose and return the stored row', async () => {
    const store = await open();
    const newer = staff({ staff_id: 1, last_name: 'Newer' }, 0x200, 1);
    await store.put('staff', 1, newer);
    expect(await store.put('staff', 1, staff({ staff_id: 1, last_name: 'Older' }, 0x200, 0))).toEqual(newer);
    expect(await store.put('staff', 1, staff({ staff_id: 1, last_name: 'Much older' }, 0x1ff, 9))).toEqual(newer);
    expect(await store.put('staff', 1, newer)).toEqual(newer); // idempotent re-put
    // Version order is numeric, not textual: 0x1000 > 0x200 and seq 10 > seq 9.
    const higher = staff({ staff_id: 1, last_name: 'Higher' }, 0x1000, 10);
    expect(await store.put('staff', 1, higher)).toEqual(higher);
    const tombstone = staff({ staff_id: 1 }, 0x1000, 11, true);
    await store.put('staff', 1, tombstone);
    expect(await store.put('staff', 1, staff({ staff_id: 1 }, 0x1000, 10))).toEqual(tombstone);
    expect((await store.get('staff', 1))?.deleted).toBe(true);
    await store.close();
  });

  it('indexes department → staff and address → counterparty (stale entries allowed, current ones never missing)', async () => {
    const store = await open();
    await store.put('staff', 1, staff({ staff_id: 1, department_id: 5 }, 0x100));
    await store.put('staff', 2, staff({ staff_id: 2, department_id: 5 }, 0x100));
    await store.put('staff', 3, staff({ staff_id: 3, department_id: 6 }, 0x100));
    await store.put('staff', 2, staff({ staff_id: 2, department_id: 6 }, 0x200));
    expect(await store.staffIdsOfDepartment(6)).toEqual([2, 3]);
    expect(await store.staffIdsOfDepartment(5)).toEqual(expect.arrayContaining([1]));
    expect(await store.staffIdsOfDepartment(99)).toEqual([]);
    await store.put('counterparty', 4, { row: sourceRow.counterparty({ counterparty_id: 4, legal_address_id: 9 }), version: v(0x100), deleted: false });
    expect(await store.counterpartyIdsOfAddress(9)).toEqual([4]);
    await store.close();
  });
});

describe('LocalJoinStateStore durability', () => {
  it('survives a restart and cuts off a torn last write', async () => {
    const dir = path.join(tmp, 'durable');
    const first = await LocalJoinStateStore.open(dir, silentLogger);
    await first.put('department', 1, { row: sourceRow.department(), version: v(0x100), deleted: false });
    await first.put('staff', 1, staff({ staff_id: 1 }, 0x100));
    await first.close();
    // A crash in the middle of an append leaves a partial line.
    await fs.appendFile(path.join(dir, 'join-state.ndjson'), '{"t":"staff","id":2,"lsn":"99');
    const second = await LocalJoinStateStore.open(dir, silentLogger);
    expect((await second.get('department', 1))?.row.department_name).toBe('Sales');
    expect(await second.get('staff', 2)).toBeNull();
    expect(await second.staffIdsOfDepartment(1)).toEqual([1]);
    await second.put('staff', 3, staff({ staff_id: 3 }, 0x300));
    await second.close();
    const third = await LocalJoinStateStore.open(dir, silentLogger);
    expect((await third.get('staff', 3))?.version).toEqual(v(0x300));
    await third.close();
  });

  it('compacts a log full of superseded lines at open without losing the latest rows', async () => {
    const dir = path.join(tmp, 'compact');
    const store = await LocalJoinStateStore.open(dir, silentLogger);
    for (let i = 1; i <= 1100; i++) await store.put('staff', 1, staff({ staff_id: 1, last_name: `v${i}` }, i));
    await store.close();
    const reopened = await LocalJoinStateStore.open(dir, silentLogger);
    expect((await reopened.get('staff', 1))?.row.last_name).toBe('v1100');
    await reopened.close();
    const lines = (await fs.readFile(path.join(dir, 'join-state.ndjson'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
  });

  it('writes a batch of puts in one write at flush, not one per put', async () => {
    const dir = path.join(tmp, 'group-write');
    const store = await LocalJoinStateStore.open(dir, silentLogger);
    const file = path.join(dir, 'join-state.ndjson');
    const handle = (store as unknown as { handle: fs.FileHandle }).handle;
    const writes = vi.spyOn(Object.getPrototypeOf(handle) as fs.FileHandle, 'write');
    const appends = vi.spyOn(Object.getPrototypeOf(handle) as fs.FileHandle, 'appendFile');
    try {
      for (let id = 1; id <= 50; id++) await store.put('staff', id, staff({ staff_id: id }, 0x100 + id));
      // Visible at once, durable at flush.
      expect((await store.get('staff', 50))?.version).toEqual(v(0x132));
      expect((await fs.stat(file)).size).toBe(0);
      await store.flush();
      expect(writes.mock.calls.length + appends.mock.calls.length).toBe(1);
    } finally {
      writes.mockRestore();
      appends.mockRestore();
    }
    await store.close();
    const reopened = await LocalJoinStateStore.open(dir, silentLogger);
    for (let id = 1; id <= 50; id++) expect((await reopened.get('staff', id))?.version).toEqual(v(0x100 + id));
    await reopened.close();
  });

  it('after a torn, failed write the retried flush cuts the torn bytes and loses no line', async () => {
    const dir = path.join(tmp, 'failed-write');
    const store = await LocalJoinStateStore.open(dir, silentLogger);
    await store.put('department', 1, { row: sourceRow.department(), version: v(0x100), deleted: false });
    await store.flush();
    await store.put('staff', 1, staff({ staff_id: 1 }, 0x200));
    await store.put('staff', 2, staff({ staff_id: 2 }, 0x201));
    const handle = (store as unknown as { handle: fs.FileHandle }).handle;
    const proto = Object.getPrototypeOf(handle) as fs.FileHandle;
    const realWrite = proto.write as (buffer: Uint8Array, offset: number, length: number) => Promise<unknown>;
    // The disk takes a third of the bytes (half a line), then fails (EIO).
    const write = vi.spyOn(proto, 'write').mockImplementationOnce(async function (this: fs.FileHandle, buffer: Uint8Array, offset?: number | null, length?: number | null) {
      await realWrite.call(this, buffer, offset ?? 0, Math.floor((length ?? buffer.length) / 3));
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    } as never);
    try {
      await expect(store.flush()).rejects.toMatchObject({ name: 'StateStoreError', retryable: true });
    } finally {
      write.mockRestore();
    }
    // The batch is retried: its puts are idempotent (the map already has them), then it flushes.
    expect(await store.put('staff', 1, staff({ staff_id: 1 }, 0x200))).toEqual(staff({ staff_id: 1 }, 0x200));
    await store.flush();
    await store.put('staff', 3, staff({ staff_id: 3 }, 0x300));
    await store.close();
    const reopened = await LocalJoinStateStore.open(dir, silentLogger);
    expect((await reopened.get('department', 1))?.version).toEqual(v(0x100));
    expect((await reopened.get('staff', 1))?.version).toEqual(v(0x200));
    expect((await reopened.get('staff', 2))?.version).toEqual(v(0x201));
    expect((await reopened.get('staff', 3))?.version).toEqual(v(0x300));
    await reopened.close();
  });
});

describe('DynamoDbJoinStateStore errors', () => {
  it('reports a missing table as a permanent StateStoreError', async () => {
    const store = new DynamoDbJoinStateStore(dynalite.client, 'no-such-table');
    await expect(store.get('staff', 1)).rejects.toMatchObject({ name: 'StateStoreError', retryable: false, table: 'staff', id: 1 });
  });

  it('reports an unreachable endpoint as retryable', async () => {
    const store = DynamoDbJoinStateStore.fromConfig({ tableName: 't', region: 'eu-west-2', endpoint: 'http://127.0.0.1:9' });
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    await expect(store.get('staff', 1)).rejects.toMatchObject({ name: 'StateStoreError', retryable: true });
    await store.close();
  });
});
