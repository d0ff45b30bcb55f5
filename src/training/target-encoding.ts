/**
 * Smoothed target encodings: a key's encoding is the mean duration of its trips shrunk toward the
 * prior (the overall mean) by `smoothing` pseudo-trips, (sum + m·prior) / (n + m). Keys never seen
 * get the prior itself, which is the back-off the ONNX graph applies through LabelEncoder defaults.
 */
export interface EncodingTable {
  /** Sorted keys, so that the exported graph is byte-identical run to run. */
  readonly keys: number[];
  /** Encoded value per key, float32-representable (the graph stores float32). */
  readonly values: number[];
  /** Training trips per key. */
  readonly counts: number[];
  /** What an unseen key gets. */
  readonly defaultValue: number;
}

export function fitEncoding(
  keys: ArrayLike<number>,
  y: Float64Array,
  prior: number,
  smoothing: number,
  include?: (i: number) => boolean,
): EncodingTable {
  const sums = new Map<number, { n: number; sum: number }>();
  for (let i = 0; i < y.length; i++) {
    if (include && !include(i)) continue;
    const s = sums.get(keys[i]);
    if (s) {
      s.n++;
      s.sum += y[i];
    } else sums.set(keys[i], { n: 1, sum: y[i] });
  }
  const sortedKeys = [...sums.keys()].sort((a, b) => a - b);
  return {
    keys: sortedKeys,
    values: sortedKeys.map((k) => {
      const s = sums.get(k)!;
      return Math.fround((s.sum + smoothing * prior) / (s.n + smoothing));
    }),
    counts: sortedKeys.map((k) => sums.get(k)!.n),
    defaultValue: Math.fround(prior),
  };
}

/** Looks keys up: the encoding (or the default) and the trip count (0 when unseen). */
export function applyEncoding(table: EncodingTable, keys: ArrayLike<number>): { value: Float32Array; count: Float32Array } {
  const index = new Map<number, number>();
  table.keys.forEach((k, i) => index.set(k, i));
  const value = new Float32Array(keys.length);
  const count = new Float32Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const j = index.get(keys[i]);
    value[i] = j === undefined ? table.defaultValue : table.values[j];
    count[i] = j === undefined ? 0 : table.counts[j];
  }
  return { value, count };
}

/**
 * Out-of-fold encoding of the training rows: each row is encoded by a table fitted on the other
 * folds, so the trees never see a row's own target through its encoding, and pairs seen in only one
 * fold show up as unseen, which teaches the trees the back-off they will meet in serving.
 * Counts are scaled by folds/(folds−1) so they match the full-data counts the graph uses.
 */
export function outOfFoldEncoding(
  keys: ArrayLike<number>,
  y: Float64Array,
  fold: Uint8Array,
  folds: number,
  prior: number,
  smoothing: number,
): { value: Float32Array; count: Float32Array } {
  const value = new Float32Array(y.length);
  const count = new Float32Array(y.length);
  const scale = folds / (folds - 1);
  for (let k = 0; k < folds; k++) {
    const table = fitEncoding(keys, y, prior, smoothing, (i) => fold[i] !== k);
    const rowsInFold: number[] = [];
    for (let i = 0; i < y.length; i++) if (fold[i] === k) rowsInFold.push(i);
    const encoded = applyEncoding(
      table,
      rowsInFold.map((i) => keys[i]),
    );
    rowsInFold.forEach((i, j) => {
      value[i] = encoded.value[j];
      count[i] = Math.fround(encoded.count[j] * scale);
    });
  }
  return { value, count };
}
