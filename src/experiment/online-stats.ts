/**
 * The online verdict: each arm's error over its matched feedback (a ride whose actual duration came
 * back), and whether the challenger's squared error differs from the champion's (docs/experiments.md,
 * "Feedback and `GET /experiment`").
 *
 * Everything is a running sum, so it costs O(1) per feedback and could be summed across workers.
 * The comparison is on d = (challenger error)² − (champion error)², the same sign as the RMSE difference:
 * - shadow: both arms predicted the same rides, so d is paired per ride; mean(d) ± 1.96·sd(d)/√n
 *   (normal approximation on the paired differences);
 * - split: each ride has one arm; MSE_challenger − MSE_champion ± 1.96·√(s²_h/n_h + s²_c/n_c)
 *   (Welch's normal approximation on two independent samples).
 * Verdict: challenger_better when the whole interval is below 0, challenger_worse when above, else
 * not_significant; nothing is significant below MIN_RIDES matched rides per arm.
 */
import type { RideId } from '../features/trip-inputs.js';
import type { ChallengerMode } from '../model/predictor.js';

/** A ride's actual duration joined to what was predicted for it (the monitoring feedback event). */
export interface FeedbackEvent {
  readonly rideId: RideId;
  /** Actual duration, minutes. */
  readonly actual: number;
  readonly predictions: readonly { readonly modelVersion: string; readonly duration: number; readonly arm?: string }[];
}

export type Verdict = 'challenger_better' | 'challenger_worse' | 'not_significant';

export interface ArmReport {
  model_version: string;
  n: number;
  rmse: number | null;
  mae: number | null;
  /** mean(actual − predicted), minutes: positive = predicts too short (as GET /monitoring). */
  mean_error: number | null;
}

export interface Comparison {
  statistic: 'mean difference in squared error, challenger − champion (minutes²)';
  paired: boolean;
  method: string;
  n: number;
  mean_difference: number | null;
  ci95: [number, number] | null;
  verdict: Verdict;
  /** Roughly how many more matched rides the interval needs to exclude 0 if the difference holds; 0 once significant, null when unknown. */
  more_rides_needed: number | null;
}

export interface ExperimentReport {
  mode: ChallengerMode;
  champion: ArmReport;
  challenger: ArmReport;
  comparison: Comparison;
  /** Feedback for rides where only one arm had a prediction (shadow), or for another version. */
  unmatched: number;
}

/** Fewer matched rides than this per arm and the normal approximation is not trusted: not_significant. */
export const MIN_RIDES = 30;
const Z95 = 1.959964;

class ErrorSums {
  n = 0;
  sumError = 0;
  sumAbs = 0;
  sumSq = 0;
  /** Σ (error²)², for the variance of the squared error (split). */
  sumSq2 = 0;

  add(predicted: number, actual: number): number {
    const e = actual - predicted;
    const sq = e * e;
    this.n++;
    this.sumError += e;
    this.sumAbs += Math.abs(e);
    this.sumSq += sq;
    this.sumSq2 += sq * sq;
    return sq;
  }

  report(modelVersion: string): ArmReport {
    const { n } = this;
    return {
      model_version: modelVersion,
      n,
      rmse: n > 0 ? Math.sqrt(this.sumSq / n) : null,
      mae: n > 0 ? this.sumAbs / n : null,
      mean_error: n > 0 ? this.sumError / n : null,
    };
  }

  /** Sample variance of the squared error. */
  varianceOfSquares(): number {
    return this.n > 1 ? Math.max(0, (this.sumSq2 - (this.sumSq * this.sumSq) / this.n) / (this.n - 1)) : Number.NaN;
  }
}

interface PairSums {
  champion: ErrorSums;
  challenger: ErrorSums;
  /** Paired differences d (shadow). */
  n: number;
  sumD: number;
  sumD2: number;
  unmatched: number;
}

export interface OnlineStats {
  /** Adds one feedback event; ignored unless it names the current arms' versions. */
  record(event: FeedbackEvent): void;
  /** The report for the versions serving now; undefined when there is no challenger. */
  report(): ExperimentReport | undefined;
}

export interface Arms {
  readonly mode: ChallengerMode;
  readonly champion: string | undefined;
  readonly challenger: string | undefined;
}

/** `arms` says which versions serve now; sums are kept per (champion, challenger) pair, so a swap starts afresh. */
export function createOnlineStats(arms: () => Arms | undefined): OnlineStats {
  const byPair = new Map<string, PairSums>();
  const sumsFor = (champion: string, challenger: string): PairSums => {
    const key = `${champion}\n${challenger}`;
    let sums = byPair.get(key);
    if (sums === undefined) {
      sums = { champion: new ErrorSums(), challenger: new ErrorSums(), n: 0, sumD: 0, sumD2: 0, unmatched: 0 };
      byPair.set(key, sums);
    }
    return sums;
  };

  return {
    record(event) {
      const current = arms();
      if (current?.champion === undefined || current.challenger === undefined || !Number.isFinite(event.actual)) return;
      const sums = sumsFor(current.champion, current.challenger);
      // why the arm tag first: champion and challenger may be the same version (an A/A test).
      const shadow =
        event.predictions.find((p) => p.arm === 'shadow') ?? event.predictions.find((p) => p.modelVersion === current.challenger);
      const champion = event.predictions.find((p) => p !== shadow && p.arm !== 'shadow' && p.modelVersion === current.champion);
      if (current.mode === 'shadow') {
        if (champion === undefined || shadow === undefined || shadow.modelVersion !== current.challenger) {
          sums.unmatched++;
          return;
        }
        const d = sums.challenger.add(shadow.duration, event.actual) - sums.champion.add(champion.duration, event.actual);
        sums.n++;
        sums.sumD += d;
        sums.sumD2 += d * d;
        return;
      }
      if (champion !== undefined) sums.champion.add(champion.duration, event.actual);
      else if (shadow !== undefined) sums.challenger.add(shadow.duration, event.actual);
      else sums.unmatched++;
    },
    report() {
      const current = arms();
      if (current === undefined) return undefined;
      const champion = current.champion ?? 'none';
      const challenger = current.challenger ?? 'none';
      const sums = byPair.get(`${champion}\n${challenger}`) ?? {
        champion: new ErrorSums(),
        challenger: new ErrorSums(),
        n: 0,
        sumD: 0,
        sumD2: 0,
        unmatched: 0,
      };
      return {
        mode: current.mode,
        champion: sums.champion.report(champion),
        challenger: sums.challenger.report(challenger),
        comparison: current.mode === 'shadow' ? pairedComparison(sums) : unpairedComparison(sums.champion, sums.challenger),
        unmatched: sums.unmatched,
      };
    },
  };
}

const STATISTIC = 'mean difference in squared error, challenger − champion (minutes²)' as const;

function verdictOf(lo: number, hi: number): Verdict {
  if (hi < 0) return 'challenger_better';
  if (lo > 0) return 'challenger_worse';
  return 'not_significant';
}

export function pairedComparison({ n, sumD, sumD2 }: Pick<PairSums, 'n' | 'sumD' | 'sumD2'>): Comparison {
  const base = { statistic: STATISTIC, paired: true, method: 'normal approximation on paired differences', n };
  if (n < 2)
    return { ...base, mean_difference: n === 1 ? sumD : null, ci95: null, verdict: 'not_significant', more_rides_needed: MIN_RIDES - n };
  const mean = sumD / n;
  const sd = Math.sqrt(Math.max(0, (sumD2 - (sumD * sumD) / n) / (n - 1)));
  const half = (Z95 * sd) / Math.sqrt(n);
  const ci95: [number, number] = [mean - half, mean + half];
  const verdict = n >= MIN_RIDES ? verdictOf(ci95[0], ci95[1]) : 'not_significant';
  let more: number | null;
  if (verdict !== 'not_significant') more = 0;
  else if (mean === 0) more = null;
  else more = Math.max(MIN_RIDES - n, Math.ceil(((Z95 * sd) / Math.abs(mean)) ** 2) - n, 1);
  return { ...base, mean_difference: mean, ci95, verdict, more_rides_needed: more };
}

export function unpairedComparison(champion: ErrorSums, challenger: ErrorSums): Comparison {
  const n = champion.n + challenger.n;
  const base = { statistic: STATISTIC, paired: false, method: "Welch's normal approximation on two independent samples", n };
  if (champion.n < 2 || challenger.n < 2) {
    return { ...base, mean_difference: null, ci95: null, verdict: 'not_significant', more_rides_needed: null };
  }
  const diff = challenger.sumSq / challenger.n - champion.sumSq / champion.n;
  const variance = challenger.varianceOfSquares() / challenger.n + champion.varianceOfSquares() / champion.n;
  const half = Z95 * Math.sqrt(variance);
  const ci95: [number, number] = [diff - half, diff + half];
  const enough = champion.n >= MIN_RIDES && challenger.n >= MIN_RIDES;
  const verdict = enough ? verdictOf(ci95[0], ci95[1]) : 'not_significant';
  let more: number | null;
  if (verdict !== 'not_significant') more = 0;
  else if (diff === 0) more = null;
  else {
    // why: both arms grow in proportion (the split share is fixed), so the variance shrinks as 1/k.
    const k = (Z95 * Z95 * variance) / (diff * diff);
    more = Math.max(1, Math.ceil((k - 1) * n), enough ? 0 : MIN_RIDES * 2 - n);
  }
  return { ...base, mean_difference: diff, ci95, verdict, more_rides_needed: more };
}
