import { describe, expect, it } from 'vitest';
import { DistinctIds, hashOf } from '../../stream-processors/distinct-ids.js';
import { mulberry32 as prng } from '../support/seeded-random.js';

/** The definition DistinctIds replaces in processEvents: a Set, and whether add grew it. */
function setAdd(set: Set<unknown>, id: unknown): boolean {
  const before = set.size;
  set.add(id);
  return set.size !== before;
}

const random = prng(20261207);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function randomId(): string {
  const kind = random();
  if (kind < 0.5) return `snapshot/${pick(['sales_order', 'payment', 'address'])}/${Math.floor(random() * 5000)}@0/57BEF00`;
  if (kind < 0.8) return `0/${Math.floor(random() * 0xffffff).toString(16).toUpperCase()}/${Math.floor(random() * 50)}`;
  const units = Array.from({ length: Math.floor(random() * 6) }, () => pick(['a', 'é', '€', '\ud83d', '\ude00', '\0', '/', '1']));
  return units.join('');
}

describe('DistinctIds', () => {
  it('says new exactly when a Set grows, over batches of ids with repeats (through several doublings)', () => {
    for (let round = 0; round < 30; round++) {
      const ids = new DistinctIds(round % 2 === 0 ? 1 : 1024);
      const set = new Set<unknown>();
      const batch = Array.from({ length: pick([0, 1, 7, 100, 3000, 20_000]) }, randomId);
      const added = batch.map((id) => ids.add(id));
      const expected = batch.map((id) => setAdd(set, id));
      const first = added.findIndex((isNew, i) => isNew !== expected[i]);
      expect(first === -1 ? 'same' : `differs at ${first}: ${JSON.stringify(batch[first])}`).toBe('same');
    }
  });

  it('tells apart different ids whose hashes are equal (the texts are compared)', () => {
    const byHash = new Map<number, string>();
    const pairs: [string, string][] = [];
    for (let i = 0; pairs.length < 3 && i < 2_000_000; i++) {
      const id = `e/${i}`;
      const other = byHash.get(hashOf(id));
      if (other !== undefined) pairs.push([other, id]);
      else byHash.set(hashOf(id), id);
    }
    expect(pairs.length).toBe(3);
    const ids = new DistinctIds();
    for (const [a, b] of pairs) {
      expect(hashOf(a)).toBe(hashOf(b));
      expect([ids.add(a), ids.add(b), ids.add(a), ids.add(b)]).toEqual([true, true, false, false]);
    }
  });

  it('takes ids that are not strings as a Set does (a caller bypassing the contract)', () => {
    const ids = new DistinctIds();
    const set = new Set<unknown>();
    const object = {};
    for (const id of [undefined, null, 1, '1', 1, undefined, object, {}, object, NaN, NaN, 0, -0, '', '']) expect(ids.add(id)).toBe(setAdd(set, id));
  });
});
