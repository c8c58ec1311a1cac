import { describe, expect, it } from 'vitest';
import { parseReconcile } from '../../contracts/reconcile.js';
import { ManifestInvalidError } from '../../loader/loader-errors.js';
import { parseManifest } from '../../loader/manifest-reader.js';

/**
 * The manifest reader checks a reconcile record's keys with one loop (contracts/reconcile-fast-path.ts
 * isKeyList) instead of the schema's union per key: it must accept and refuse exactly the key lists
 * the reconcile schema does (safe integers and non-empty strings).
 */
const record = (keys: unknown) => ({ kind: 'reconcile', v: 2, id: 'snapshot/sales_order/0/1/0', table: 'sales_order', lsn: '0/1', seq: -1, commitTs: '2026-01-01T00:00:00.000Z', reason: 'snapshot', keyAfter: null, keyTo: null, keys, shards: null });
const at = '2026-01-01T00:00:00.000Z';
const manifest = (keys: unknown) =>
  Buffer.from(JSON.stringify({ v: 1, batchId: 'b', createdAt: at, eventCount: 0, firstEventId: '', lastEventId: '', minCommitTs: at, maxCommitTs: at, files: [], reconciles: [{ copyShards: ['shard-0'], record: record(keys) }] }));

describe('manifest reader: reconcile keys', () => {
  it.each([[[1, 2, 'a']], [[]], [[1.5]], [['']], [[null]], [[2 ** 53]], [['x', 0, -3]], ['x'], [null]])('agrees with the reconcile schema on %j', (keys) => {
    const schemaAccepts = (() => {
      try {
        parseReconcile(JSON.stringify(record(keys)));
        return true;
      } catch {
        return false;
      }
    })();
    if (schemaAccepts) expect(parseManifest('manifests/m.json', manifest(keys)).reconciles?.[0]?.record.keys).toEqual(keys);
    else expect(() => parseManifest('manifests/m.json', manifest(keys))).toThrow(ManifestInvalidError);
  });
});
