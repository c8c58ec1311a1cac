import { describe, expect, it } from 'vitest';
import type { BatchManifest } from '../../contracts/manifest.js';
import { groupManifests } from '../../loader/load-manifests-together.js';

const pending = (rows: number[]) =>
  rows.map((n, i) => ({ manifestKey: `manifests/${i}`, manifest: { files: n === 0 ? [] : [{ rows: n }] } as unknown as BatchManifest }));

describe('groupManifests', () => {
  it('keeps key order and cuts at the manifest bound', () => {
    const groups = groupManifests(pending([1, 1, 1, 1, 1]), { maxManifests: 2, maxRows: 100 });
    expect(groups.map((g) => g.map((m) => m.manifestKey))).toEqual([['manifests/0', 'manifests/1'], ['manifests/2', 'manifests/3'], ['manifests/4']]);
  });

  it('cuts at the row bound; a manifest over it forms a group alone; watermark-only manifests count no rows', () => {
    const groups = groupManifests(pending([40, 50, 20, 500, 0, 10]), { maxManifests: 10, maxRows: 100 });
    expect(groups.map((g) => g.map((m) => m.manifestKey.split('/')[1]))).toEqual([['0', '1'], ['2'], ['3'], ['4', '5']]);
  });

  it('a manifest with reconcile records loads alone, keeping key order around it', () => {
    const items = pending([1, 1, 1, 1]);
    (items[2].manifest as { reconciles?: unknown[] }).reconciles = [{}];
    expect(groupManifests(items, { maxManifests: 10, maxRows: 100 }).map((g) => g.map((m) => m.manifestKey.split('/')[1]))).toEqual([['0', '1'], ['2'], ['3']]);
  });

  it('an empty backlog gives no group', () => {
    expect(groupManifests([])).toEqual([]);
  });
});
