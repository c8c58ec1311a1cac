/**
 * The set of event ids a batch has seen, for processEvents' duplicate check: `add` says whether an
 * id is new, exactly as `Set#add` plus a size check would (string ids are equal when their texts
 * are; any other value is kept in a real Set). Why not a Set: a first sync adds about 476k fresh
 * ids, one per event, and `Set#add` of a fresh string was 5% of the processor's thread
 * (processor profiles, docs/performance-processor.md round six); this table hashes the id's
 * characters in JavaScript (FNV-1a), probes a typed array of hashes, and compares texts only when
 * two full hashes are equal. test/unit/stream-processors-distinct-ids.test.ts holds it to a Set.
 */
export class DistinctIds {
  /** Per slot: the id's hash with its lowest bit set (0 marks an empty slot). */
  private hashes: Int32Array;
  private ids: (string | undefined)[];
  private mask: number;
  private count = 0;
  private others: Set<unknown> | undefined;

  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.hashes = new Int32Array(capacity);
    this.ids = new Array<string | undefined>(capacity);
    this.mask = capacity - 1;
  }

  /** Adds `id`; true when it was not in the set before. */
  add(id: unknown): boolean {
    if (typeof id !== 'string') {
      const others = (this.others ??= new Set());
      const before = others.size;
      others.add(id);
      return others.size !== before;
    }
    const hash = hashOf(id);
    const hashes = this.hashes;
    const mask = this.mask;
    let slot = hash & mask;
    for (let stored = hashes[slot]!; stored !== 0; stored = hashes[slot]!) {
      if (stored === hash && this.ids[slot] === id) return false;
      slot = (slot + 1) & mask;
    }
    hashes[slot] = hash;
    this.ids[slot] = id;
    if (++this.count * 2 > hashes.length) this.grow();
    return true;
  }

  /** Doubles the table (kept at most half full, so probes stay short), reinserting by the stored hashes. */
  private grow(): void {
    const oldHashes = this.hashes;
    const oldIds = this.ids;
    const capacity = oldHashes.length * 2;
    const hashes = new Int32Array(capacity);
    const ids = new Array<string | undefined>(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < oldHashes.length; i++) {
      const hash = oldHashes[i]!;
      if (hash === 0) continue;
      let slot = hash & mask;
      while (hashes[slot] !== 0) slot = (slot + 1) & mask;
      hashes[slot] = hash;
      ids[slot] = oldIds[i];
    }
    this.hashes = hashes;
    this.ids = ids;
    this.mask = mask;
  }
}

/** FNV-1a over the UTF-16 code units, lowest bit set so it is never 0 (exported for the tests' collisions). */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 1;
}
