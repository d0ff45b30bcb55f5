/**
 * Predicted minutes as every front end writes them (/predict, /invocations, OIP, stream records):
 * rounded to 0.001, and their JSON text.
 */

/** Minutes, rounded to 0.001 (60 ms): float32 noise in the last digits would only look like precision. */
export function minutes(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * `String(minutes(value))`, the JSON text of the rounded value, built from the integer number of
 * thousandths. why: V8's shortest double-to-string costs 2–3× this, three times per trip;
 * writing the predictions was about a tenth of the CPU of 1,000-trip requests (docs/performance.md).
 * The text is the same: a decimal with at most 15 significant digits is the shortest one naming its
 * double, and `k / 1000` is that double (division rounds correctly);
 * tests/http/routes/predict-fields.test.ts holds the two equal.
 */
export function minutesJson(value: number): string {
  const k = Math.round(value * 1000);
  if (!(k < 1e15 && k > -1e15)) return `${k / 1000}`;
  const sign = k < 0 ? '-' : '';
  const a = k < 0 ? -k : k;
  const whole = Math.floor(a / 1000);
  const frac = a - whole * 1000;
  if (frac === 0) return `${sign}${whole}`;
  if (frac % 100 === 0) return `${sign}${whole}.${frac / 100}`;
  if (frac % 10 === 0) return `${sign}${whole}.${frac < 100 ? '0' : ''}${frac / 10}`;
  return `${sign}${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}
