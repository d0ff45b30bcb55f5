/**
 * Seeded pseudo-random numbers (mulberry32): every random choice in training draws from one of these,
 * so the same seed gives the same folds, the same early-stopping split and byte-identical models.
 */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Assigns each of `rows` items to one of `folds` groups of near-equal size, in a seeded random order. */
export function assignFolds(rows: number, folds: number, random: () => number): Uint8Array {
  const order = Uint32Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const fold = new Uint8Array(rows);
  for (let k = 0; k < rows; k++) fold[order[k]] = k % folds;
  return fold;
}
