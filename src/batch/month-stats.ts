/**
 * What a scored month says about the model: error overall and per pickup day (New York date), interval
 * coverage, and drift of the inputs and of the prediction against the model's training reference, with
 * the same bins, scores and thresholds as online monitoring (src/monitoring/drift.ts, docs/drift.md).
 * Accumulated row group by row group; nothing per row is kept.
 */
import type { KeptRows } from '../data/trip-filter.js';
import { binIndex, binTotal, judgeDrift, type DriftReference, type FeatureDrift } from '../monitoring/drift.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface ErrorSummary {
  readonly rows: number;
  readonly rmse: number | null;
  readonly mae: number | null;
  /** Mean of actual − predicted: positive when trips took longer than predicted. */
  readonly mean_error: number | null;
  /** Share of trips whose duration fell below p10 / above p90 (models with intervals). */
  readonly below_p10?: number | null;
  readonly above_p90?: number | null;
}

export interface DaySummary extends ErrorSummary {
  /** YYYY-MM-DD, New York date of the pickup. */
  readonly date: string;
  readonly drift?: readonly FeatureDrift[];
}

export interface DriftSummary {
  /** What the reference describes (from training.json), or null when the model version has none. */
  readonly reference: string | null;
  readonly features: readonly FeatureDrift[];
  readonly drifted_features: readonly string[];
  /** Days on which each feature drifted. */
  readonly days_drifted: Readonly<Record<string, number>>;
}

/** Reference against month, per feature: bin labels and both count vectors (for the report's histograms). */
export interface FeatureHistogram {
  readonly feature: string;
  readonly labels: readonly string[];
  readonly reference: readonly number[];
  readonly month: readonly number[];
}

class ErrorSums {
  n = 0;
  sum = 0;
  squares = 0;
  absolutes = 0;
  below = 0;
  above = 0;

  summary(intervals: boolean): ErrorSummary {
    const { n } = this;
    const mean = (v: number) => (n > 0 ? v / n : null);
    return {
      rows: n,
      rmse: n > 0 ? Math.sqrt(this.squares / n) : null,
      mae: mean(this.absolutes),
      mean_error: mean(this.sum),
      ...(intervals ? { below_p10: mean(this.below), above_p90: mean(this.above) } : {}),
    };
  }
}

interface Day {
  readonly errors: ErrorSums;
  readonly counts: Float64Array[] | undefined;
}

export class MonthStats {
  readonly #reference: DriftReference | undefined;
  readonly #intervals: boolean;
  readonly #all = new ErrorSums();
  readonly #days = new Map<number, Day>();
  readonly #monthCounts: Float64Array[] | undefined;

  constructor(reference: DriftReference | undefined, intervals: boolean) {
    this.#reference = reference;
    this.#intervals = intervals;
    this.#monthCounts = reference ? this.#newCounts() : undefined;
  }

  #newCounts(): Float64Array[] {
    return this.#reference!.features.map((f) => new Float64Array(binTotal(f)));
  }

  add(rows: KeptRows, predicted: Float32Array, p10?: Float32Array, p90?: Float32Array): void {
    const features = this.#reference?.features;
    // why: the feature values in the reference's order, so the loop below indexes instead of matching names.
    const values = features?.map((f) => featureReader(f.feature, rows, predicted));
    let dayKey = Number.NaN;
    let day: Day | undefined;
    for (let i = 0; i < rows.rows; i++) {
      const key = Math.floor(rows.pickupMs[i] / DAY_MS);
      if (key !== dayKey) {
        dayKey = key;
        day = this.#days.get(key);
        if (!day) this.#days.set(key, (day = { errors: new ErrorSums(), counts: features ? this.#newCounts() : undefined }));
      }
      const error = rows.duration[i] - predicted[i];
      for (const sums of [this.#all, day!.errors]) {
        sums.n++;
        sums.sum += error;
        sums.squares += error * error;
        sums.absolutes += Math.abs(error);
        if (p10 && p90) {
          if (rows.duration[i] < p10[i]) sums.below++;
          else if (rows.duration[i] > p90[i]) sums.above++;
        }
      }
      if (features && values) {
        for (let f = 0; f < features.length; f++) {
          const bin = binIndex(features[f], values[f](i));
          this.#monthCounts![f][bin]++;
          day!.counts![f][bin]++;
        }
      }
    }
  }

  quality(): { overall: ErrorSummary; by_day: DaySummary[] } {
    return { overall: this.#all.summary(this.#intervals), by_day: this.#byDay() };
  }

  #byDay(): DaySummary[] {
    return [...this.#days.keys()]
      .sort((a, b) => a - b)
      .map((key) => {
        const day = this.#days.get(key)!;
        const drift = this.#judge(day.counts);
        return {
          date: new Date(key * DAY_MS).toISOString().slice(0, 10),
          ...day.errors.summary(this.#intervals),
          ...(drift ? { drift } : {}),
        };
      });
  }

  #judge(counts: Float64Array[] | undefined): FeatureDrift[] | undefined {
    const reference = this.#reference;
    if (!reference || !counts) return undefined;
    return judgeDrift(reference, Object.fromEntries(reference.features.map((f, i) => [f.feature, counts[i]])));
  }

  drift(): DriftSummary {
    const features = this.#judge(this.#monthCounts) ?? [];
    const daysDrifted: Record<string, number> = Object.fromEntries(features.map((f) => [f.feature, 0]));
    for (const day of this.#byDay()) for (const f of day.drift ?? []) if (f.drifted) daysDrifted[f.feature]++;
    return {
      reference: this.#reference?.data ?? null,
      features,
      drifted_features: features.filter((f) => f.drifted).map((f) => f.feature),
      days_drifted: daysDrifted,
    };
  }

  histograms(): FeatureHistogram[] {
    const reference = this.#reference;
    if (!reference || !this.#monthCounts) return [];
    return reference.features.map((f, i) => ({
      feature: f.feature,
      labels: f.method === 'jensenshannon' ? [...f.values.map(String), 'other'] : f.edges.slice(0, -1).map((e) => e.toFixed(1)),
      reference: f.counts,
      month: Array.from(this.#monthCounts![i]),
    }));
  }
}

/** Row i's value of a drift feature: the model's inputs as it saw them, or its prediction. */
function featureReader(feature: string, rows: KeptRows, predicted: Float32Array): (i: number) => number {
  switch (feature) {
    case 'PULocationID':
      return (i) => rows.puLocationId[i];
    case 'DOLocationID':
      return (i) => rows.doLocationId[i];
    case 'trip_distance':
      return (i) => rows.tripDistance[i];
    // why arithmetic: the pickup is a New York wall-clock time held as UTC ms (wallClockHourAndDow's rule,
    // without a Date per row); 1970-01-01 was a Thursday, weekday 3 with Monday = 0.
    case 'pickup_hour':
      return (i) => Math.floor(rows.pickupMs[i] / HOUR_MS) % 24;
    case 'pickup_dow':
      return (i) => (Math.floor(rows.pickupMs[i] / DAY_MS) + 3) % 7;
    case 'prediction':
      return (i) => predicted[i];
    default:
      return () => Number.NaN;
  }
}
