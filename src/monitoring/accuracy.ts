/**
 * Online accuracy per model version over matched feedback: sums that merge by addition (across
 * workers, over time), from which RMSE, MAE, mean error and interval coverage follow.
 */
import type { LoggedPrediction } from './prediction-log.js';

/** [n, Σe², Σ|e|, Σe, below, inside, above] with e = actual − predicted, minutes. */
export type AccuracySums = [number, number, number, number, number, number, number];

/** Sums per model version; plain JSON, so a worker can send it to the cluster primary. */
export type AccuracyDelta = Record<string, AccuracySums>;

export type IntervalSide = 'below' | 'inside' | 'above';

export function intervalSide(p: LoggedPrediction, actual: number): IntervalSide | undefined {
  if (p.p10 === undefined || p.p90 === undefined) return undefined;
  return actual < p.p10 ? 'below' : actual > p.p90 ? 'above' : 'inside';
}

export function addToDelta(delta: AccuracyDelta, p: LoggedPrediction, actual: number): void {
  const s = (delta[p.modelVersion] ??= [0, 0, 0, 0, 0, 0, 0]);
  const e = actual - p.duration;
  s[0]++;
  s[1] += e * e;
  s[2] += Math.abs(e);
  s[3] += e;
  const side = intervalSide(p, actual);
  if (side === 'below') s[4]++;
  else if (side === 'inside') s[5]++;
  else if (side === 'above') s[6]++;
}

export function mergeDelta(into: AccuracyDelta, delta: AccuracyDelta): void {
  for (const version in delta) {
    const s = (into[version] ??= [0, 0, 0, 0, 0, 0, 0]);
    const d = delta[version];
    for (let i = 0; i < s.length; i++) s[i] += d[i];
  }
}

/** One version's line of GET /monitoring. */
export interface VersionAccuracy {
  readonly model_version: string;
  readonly n: number;
  readonly rmse: number | null;
  readonly mae: number | null;
  readonly mean_error: number | null;
  readonly training_rmse: number | null;
  /** Share of matched rides whose actual duration fell inside [p10, p90]; null without intervals. */
  readonly interval_coverage: number | null;
  readonly interval_n: number;
}

export function summarize(sums: AccuracyDelta, trainingRmse: ReadonlyMap<string, number>): VersionAccuracy[] {
  return Object.keys(sums)
    .sort()
    .map((version) => {
      const [n, sse, sae, se, below, inside, above] = sums[version];
      const intervalN = below + inside + above;
      return {
        model_version: version,
        n,
        rmse: n > 0 ? Math.sqrt(sse / n) : null,
        mae: n > 0 ? sae / n : null,
        mean_error: n > 0 ? se / n : null,
        training_rmse: trainingRmse.get(version) ?? null,
        interval_coverage: intervalN > 0 ? inside / intervalN : null,
        interval_n: intervalN,
      };
    });
}
