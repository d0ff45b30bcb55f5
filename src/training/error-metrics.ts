/** Error of predictions against the target, overall and on the rows a mask selects. */
export interface ErrorMetrics {
  readonly rows: number;
  readonly rmse: number;
  readonly mae: number;
}

export function errorMetrics(pred: ArrayLike<number>, y: ArrayLike<number>, include?: Uint8Array): ErrorMetrics {
  let rows = 0;
  let squares = 0;
  let absolutes = 0;
  for (let i = 0; i < y.length; i++) {
    if (include && !include[i]) continue;
    const e = pred[i] - y[i];
    squares += e * e;
    absolutes += Math.abs(e);
    rows++;
  }
  return { rows, rmse: rows ? Math.sqrt(squares / rows) : Number.NaN, mae: rows ? absolutes / rows : Number.NaN };
}
