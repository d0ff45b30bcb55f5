/**
 * The online drift window: counts in the reference's bins (drift.ts) per time slice, never a list of
 * trips, so memory is constant whatever the traffic: 24 slices × the reference's bins (≈ 1,800 numbers
 * for version 4, 14 KB a slice).
 *
 * The clock is each trip's pickup time when the request gave one, else its arrival, so a replay of a
 * past month is judged as that month. The window is the DRIFT_WINDOW_S ending with the newest slice
 * seen; a trip older than that is counted as late and left out. Slices are aligned on multiples of
 * their length since the epoch: with the default day (hour slices) a window that ends at a New York
 * midnight covers exactly that New York day.
 */
import { judgeDrift, type DriftReference, type FeatureDrift } from './drift.js';

export const WINDOW_SLICES = 24;

/** The ring position of a slice index (indices before 1970 are negative). */
function slot(index: number): number {
  return ((index % WINDOW_SLICES) + WINDOW_SLICES) % WINDOW_SLICES;
}

interface Slice {
  index: number;
  trips: number;
  firstMs: number;
  lastMs: number;
  readonly counts: Float64Array;
}

export interface WindowVerdict {
  readonly trips: number;
  /** Oldest and newest clock (pickup or arrival time) of the trips in the window; NaN when empty. */
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** Trips left out because they were older than the window when they arrived. */
  readonly late: number;
  /** False while the window holds fewer than the minimum trips: `features` are then informative only. */
  readonly verdict: boolean;
  readonly features: readonly FeatureDrift[];
}

export class DriftWindow {
  readonly reference: DriftReference;
  /** Bins per trip, in the reference's feature order: what `add` takes for each trip. */
  readonly featureCount: number;
  private readonly offsets: number[] = [];
  private readonly sizes: number[] = [];
  private readonly sliceMs: number;
  private readonly slices: Slice[];
  private readonly total: Float64Array;
  private trips = 0;
  private late = 0;
  private newest = Number.NEGATIVE_INFINITY;

  constructor(
    reference: DriftReference,
    windowMs: number,
    private readonly minTrips: number,
  ) {
    this.reference = reference;
    this.featureCount = reference.features.length;
    let bins = 0;
    for (const f of reference.features) {
      this.offsets.push(bins);
      this.sizes.push(f.counts.length);
      bins += f.counts.length;
    }
    this.sliceMs = Math.ceil(windowMs / WINDOW_SLICES);
    this.total = new Float64Array(bins);
    this.slices = Array.from({ length: WINDOW_SLICES }, () => ({
      index: -1,
      trips: 0,
      firstMs: NaN,
      lastMs: NaN,
      counts: new Float64Array(bins),
    }));
  }

  /**
   * Counts trips: `clockMs[k]` is trip k's time, `bins[k * featureCount + f]` its bin for feature f
   * (binIndex of drift.ts).
   */
  add(clockMs: ArrayLike<number>, bins: ArrayLike<number>): void {
    const width = this.featureCount;
    for (let k = 0; k < clockMs.length; k++) {
      const t = clockMs[k];
      const index = Math.floor(t / this.sliceMs);
      if (!Number.isFinite(index)) continue;
      if (index > this.newest) this.advance(index);
      else if (index <= this.newest - WINDOW_SLICES) {
        this.late++;
        continue;
      }
      const slice = this.slices[slot(index)];
      slice.trips++;
      if (!(slice.firstMs <= t)) slice.firstMs = t;
      if (!(slice.lastMs >= t)) slice.lastMs = t;
      for (let f = 0; f < width; f++) {
        const bin = this.offsets[f] + bins[k * width + f];
        slice.counts[bin]++;
        this.total[bin]++;
      }
      this.trips++;
    }
  }

  judge(): WindowVerdict {
    let first = Number.NaN;
    let last = Number.NaN;
    for (const s of this.slices) {
      if (s.trips === 0) continue;
      if (!(first <= s.firstMs)) first = s.firstMs;
      if (!(last >= s.lastMs)) last = s.lastMs;
    }
    const counts: Record<string, Float64Array> = {};
    this.reference.features.forEach((f, i) => (counts[f.feature] = this.total.subarray(this.offsets[i], this.offsets[i] + this.sizes[i])));
    const verdict = this.trips >= this.minTrips;
    const features = this.trips === 0 ? [] : judgeDrift(this.reference, counts).map((f) => (verdict ? f : { ...f, drifted: false }));
    return { trips: this.trips, firstSeenMs: first, lastSeenMs: last, late: this.late, verdict, features };
  }

  /** Moves the window's end to slice `index`, emptying the slices that fall out of it. */
  private advance(index: number): void {
    const from = Math.max(this.newest + 1, index - WINDOW_SLICES + 1);
    for (let j = from; j <= index; j++) {
      const slice = this.slices[slot(j)];
      if (slice.trips > 0) {
        const { counts } = slice;
        for (let b = 0; b < counts.length; b++) this.total[b] -= counts[b];
        counts.fill(0);
        this.trips -= slice.trips;
      }
      slice.index = j;
      slice.trips = 0;
      slice.firstMs = NaN;
      slice.lastMs = NaN;
    }
    this.newest = index;
  }
}
