/**
 * A prediction store whose module is loaded on first construction, behind the store contract.
 *
 * why: the Redis store brings ioredis and its dependencies, ≈ 4 MB of RSS per worker
 * (docs/performance.md, "Memory"), which only REDIS_URL needs. The import takes one or two turns of the
 * event loop at start-up, long before the model is ready to predict; should predictions come first,
 * they wait here, in order, and feedback is refused as when Redis is unreachable (503, retry later).
 */
import { ServiceError } from '../errors.js';
import type { FeedbackItem, LogBatch, MatchResult, PredictionStore } from './prediction-log.js';

export interface DeferredStoreOptions {
  kind: PredictionStore['kind'];
  load: () => Promise<PredictionStore>;
  /** Called once if the store cannot be loaded (a broken install); every call then fails. */
  onLoadError: (err: Error) => void;
  /** Predictions that could not be logged because the store never loaded. */
  onLost: (count: number) => void;
}

export class DeferredStore implements PredictionStore {
  readonly kind: PredictionStore['kind'];
  /** Settles once the store is loaded, or its loading failed (then every call says so). */
  readonly loaded: Promise<void>;
  private store: PredictionStore | undefined;
  private failure: Error | undefined;
  private pending: LogBatch[] = [];

  private readonly onLost: (count: number) => void;

  constructor({ kind, load, onLoadError, onLost }: DeferredStoreOptions) {
    this.kind = kind;
    this.onLost = onLost;
    this.loaded = load().then(
      (store) => {
        this.store = store;
        for (const batch of this.pending) store.put(batch);
        this.pending = [];
      },
      (err: Error) => {
        this.failure = err;
        onLoadError(err);
        const lost = this.pending.reduce((n, batch) => n + batch.rideIds.length, 0);
        this.pending = [];
        if (lost > 0) onLost(lost);
      },
    );
  }

  put(batch: LogBatch): void {
    if (this.store !== undefined) this.store.put(batch);
    else if (this.failure === undefined) this.pending.push(batch);
    else this.onLost(batch.rideIds.length);
  }

  match(items: readonly FeedbackItem[]): Promise<MatchResult[]> {
    if (this.store !== undefined) return this.store.match(items);
    return Promise.reject(
      new ServiceError(
        'feedback_unavailable',
        this.failure === undefined ? 'the prediction log is starting; retry later' : 'the prediction log could not be loaded',
      ),
    );
  }

  async close(): Promise<void> {
    await this.loaded;
    await this.store?.close();
  }
}
