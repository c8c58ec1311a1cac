import { describe, expect, it } from 'vitest';
import { MANIFEST_PREFIX, isManifestKey, manifestKey, parquetKey } from '../../contracts/manifest-layout.js';

describe('manifest layout (processor writes, loader lists)', () => {
  it('manifest keys sort in write order across days and inside a millisecond-wide second', () => {
    const times = ['2026-11-22T23:59:59.999Z', '2026-11-23T00:00:00.000Z', '2026-11-23T00:00:00.010Z', '2026-11-23T10:00:00.000Z'];
    const keys = times.map((t) => manifestKey('', t, 'ffff'));
    expect([...keys].sort()).toEqual(keys);
    expect(keys[0]).toBe('manifests/date=2026-11-22/20261122T235959999Z-ffff.json');
    for (const key of keys) expect(key.startsWith(MANIFEST_PREFIX) && isManifestKey(key)).toBe(true);
  });

  it('puts a Parquet file under its table and commit date, and the loader never lists it as a manifest', () => {
    const key = parquetKey('replay/r1/', 'fact_sales_order', '2026-11-22T12:00:00.000Z', 'abc');
    expect(key).toBe('replay/r1/fact_sales_order/date=2026-11-22/abc.parquet');
    expect(isManifestKey(key)).toBe(false);
  });
});
