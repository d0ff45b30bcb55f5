/**
 * The one mutable holder of the served model, with a swap point for hot reload (docs/registries.md).
 *
 * Requests `acquire` a lease on the current model and `release` it when their inference is done.
 * `swap` installs a new, already loaded model at once (new requests use it), then releases the old
 * one only after its last lease is returned: load new, then retire old (never the other way round).
 */
import type { LoadedModel } from './onnx-model.js';

export interface ModelLease {
  readonly model: LoadedModel;
}

interface Entry extends ModelLease {
  inFlight: number;
  retired: boolean;
  onIdle: (() => void) | undefined;
}

export class ModelSlot {
  #current: Entry | undefined;

  /** True once a model is installed (and until close). */
  get ready(): boolean {
    return this.#current !== undefined;
  }

  /** The served model, for metadata; use acquire() to run it. */
  get current(): LoadedModel | undefined {
    return this.#current?.model;
  }

  /** A lease on the current model, or undefined when none is loaded. Always pair with release(). */
  acquire(): ModelLease | undefined {
    const entry = this.#current;
    if (entry !== undefined) entry.inFlight++;
    return entry;
  }

  release(lease: ModelLease): void {
    const entry = lease as Entry;
    entry.inFlight--;
    if (entry.retired && entry.inFlight === 0) entry.onIdle?.();
  }

  /**
   * Serves `next` from now on. Resolves with the previous model once it is drained and released
   * (or undefined when there was none).
   */
  async swap(next: LoadedModel): Promise<LoadedModel | undefined> {
    const old = this.#current;
    this.#current = { model: next, inFlight: 0, retired: false, onIdle: undefined };
    if (old === undefined) return undefined;
    await retire(old);
    return old.model;
  }

  /** Stops serving: no new leases; resolves after in-flight runs finish and the session is released. */
  async close(): Promise<void> {
    const old = this.#current;
    this.#current = undefined;
    if (old !== undefined) await retire(old);
  }
}

async function retire(entry: Entry): Promise<void> {
  entry.retired = true;
  if (entry.inFlight > 0) await new Promise<void>((resolve) => (entry.onIdle = resolve));
  await entry.model.release();
}
