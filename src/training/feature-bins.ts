/**
 * Histogram binning of one float32 feature column for the booster: at most `maxBins` bins whose
 * upper edges are values that occur in the data. A split "bin <= b" is then exactly the test
 * "x <= edge" that the exported TreeEnsembleRegressor (BRANCH_LEQ) applies to float32 inputs.
 */
export interface BinnedColumn {
  /** Bin of each row. */
  readonly bins: Uint8Array;
  /** Upper edge of each bin: a float32 value present in the data, so `bin <= b` ⇔ `x <= cuts[b]`. */
  readonly cuts: Float32Array;
}

export function binColumn(column: Float32Array, maxBins: number): BinnedColumn {
  const sorted = Float32Array.from(column).sort();
  const unique: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) unique.push(sorted[i]);
  let cuts: number[];
  if (unique.length <= maxBins) cuts = unique;
  else {
    // why: quantile edges over rows (not over distinct values) put the bins where the data is.
    cuts = [];
    for (let b = 1; b <= maxBins; b++) {
      const edge = sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / maxBins) - 1)];
      if (cuts.length === 0 || edge > cuts[cuts.length - 1]) cuts.push(edge);
    }
    if (cuts[cuts.length - 1] < sorted[sorted.length - 1]) cuts[cuts.length - 1] = sorted[sorted.length - 1];
  }
  const edges = Float32Array.from(cuts);
  const bins = new Uint8Array(column.length);
  for (let i = 0; i < column.length; i++) {
    let lo = 0;
    let hi = edges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (column[i] <= edges[mid]) hi = mid;
      else lo = mid + 1;
    }
    bins[i] = lo;
  }
  return { bins, cuts: edges };
}
