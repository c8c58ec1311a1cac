/**
 * A small seeded PRNG (sfc32, seeded through splitmix32) so that the generator and the simulator
 * make the same decisions for the same seed on every machine and Node version. Math.random is never
 * used in this folder: determinism is part of the contract (same seed → same database content).
 */
export interface Prng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An index drawn with the given non-negative weights. */
  weightedIndex(weights: readonly number[]): number;
  /** A child generator with its own stream, so adding draws to one part never shifts another. */
  fork(label: string): Prng;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function createPrng(seed: number, label = ''): Prng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const mix = splitmix32((seed ^ hashLabel(label)) >>> 0 ^ Math.floor(seed / 2 ** 32));
  // State lives in a typed array: uint32 values kept in closure variables would be boxed as heap
  // numbers on every step (they exceed the small-integer range), which made generation GC-bound.
  const s = new Uint32Array([mix(), mix(), mix(), mix()]);
  const nextUint32 = () => {
    const a = s[0], b = s[1], c = s[2], d = s[3];
    const t = (a + b + d) | 0;
    s[3] = d + 1;
    s[0] = b ^ (b >>> 9);
    s[1] = c + (c << 3);
    const rotated = (c << 21) | (c >>> 11);
    s[2] = rotated + t;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextUint32(); // warm-up: decorrelates nearby seeds
  const next = () => nextUint32() / 4294967296;
  const prng: Prng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    weightedIndex(weights) {
      let total = 0;
      for (const w of weights) total += w;
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i];
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    fork: (childLabel) => createPrng(seed, `${label}/${childLabel}`),
  };
  return prng;
}

/** A Poisson-distributed count (Knuth for small means, a rounded normal for large ones). */
export function poisson(prng: Prng, mean: number): number {
  if (mean <= 0) return 0;
  if (mean < 50) {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = prng.next();
    while (p > limit) {
      k++;
      p *= prng.next();
    }
    return k;
  }
  const u1 = Math.max(prng.next(), Number.EPSILON);
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * prng.next());
  return Math.max(0, Math.round(mean + normal * Math.sqrt(mean)));
}
