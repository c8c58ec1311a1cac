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
  /** Per slot: 1 + the id's index in `ids`. */
  private slots: Int32Array;
  /** The string ids, in the order added (a dense array: growing the table moves only the typed arrays). */
  private readonly ids: string[] = [];
  private mask: number;
  private others: Set<unknown> | undefined;

  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.hashes = new Int32Array(capacity);
    this.slots = new Int32Array(capacity);
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
      if (stored === hash && this.ids[this.slots[slot]! - 1] === id) return false;
      slot = (slot + 1) & mask;
    }
    hashes[slot] = hash;
    this.slots[slot] = this.ids.push(id);
    if (this.ids.length * 2 > hashes.length) this.grow();
    return true;
  }

  /** Doubles the table (kept at most half full, so probes stay short), reinserting by the stored hashes. */
  private grow(): void {
    const oldHashes = this.hashes;
    const oldSlots = this.slots;
    const capacity = oldHashes.length * 2;
    const hashes = new Int32Array(capacity);
    const slots = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < oldHashes.length; i++) {
      const hash = oldHashes[i]!;
      if (hash === 0) continue;
      let slot = hash & mask;
      while (hashes[slot] !== 0) slot = (slot + 1) & mask;
      hashes[slot] = hash;
      slots[slot] = oldSlots[i]!;
    }
    this.hashes = hashes;
    this.slots = slots;
    this.mask = mask;
  }
}

/** FNV-1a over the UTF-16 code units, lowest bit set so it is never 0 (exported for the tests' collisions). */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 1;
}
