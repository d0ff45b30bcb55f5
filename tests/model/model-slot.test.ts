import { describe, expect, test } from 'vitest';
import { tripsToColumns } from '../../src/features/trip-inputs.js';
import { ModelSlot } from '../../src/model/model-slot.js';
import { FIXTURE_REGISTRY, fakeModel, gate, loadTestModel } from '../support/app.js';

const instant = () => fakeModel(async (_c, n) => new Float32Array(n).fill(1));

describe('ModelSlot', () => {
  test('When empty, then it is not ready and gives no lease', () => {
    const slot = new ModelSlot();

    expect(slot.ready).toBe(false);
    expect(slot.acquire()).toBeUndefined();
  });

  test('When a model is swapped in, then new leases get it', async () => {
    const slot = new ModelSlot();
    const first = instant();

    expect(await slot.swap(first)).toBeUndefined();

    expect(slot.ready).toBe(true);
    const lease = slot.acquire()!;
    expect(lease.model).toBe(first);
    slot.release(lease);
  });

  test('When a model is replaced while a request uses it, then it is released only after that request', async () => {
    const slot = new ModelSlot();
    const running = gate<Float32Array>();
    const old = fakeModel(() => running.promise, { modelVersion: 'fake/1' });
    const next = instant();
    await slot.swap(old);
    const lease = slot.acquire()!;
    const inFlight = lease.model.run(new Float32Array() as never, 1);

    const swapped = slot.swap(next);
    // Turns of the event loop, not wall time: a release that did not wait for the lease would happen in them.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));

    expect(slot.current).toBe(next);
    expect(old.released).toBe(false);
    running.open(new Float32Array([7]));
    expect((await inFlight).duration).toEqual(new Float32Array([7]));
    slot.release(lease);
    expect(await swapped).toBe(old);
    expect(old.released).toBe(true);
    expect(next.released).toBe(false);
  });

  test('When nothing is in flight, then the old model is released at once', async () => {
    const slot = new ModelSlot();
    const old = instant();
    await slot.swap(old);

    await slot.swap(instant());

    expect(old.released).toBe(true);
  });

  test('When closed, then no new leases are given and the model is released after in-flight requests', async () => {
    const slot = new ModelSlot();
    const model = instant();
    await slot.swap(model);
    const lease = slot.acquire()!;

    const closed = slot.close();

    expect(slot.ready).toBe(false);
    expect(slot.acquire()).toBeUndefined();
    expect(model.released).toBe(false);
    slot.release(lease);
    await closed;
    expect(model.released).toBe(true);
  });

  test('When a real onnxruntime model is swapped out while its run is pending, then the run completes on it and its session is released afterwards', async () => {
    const slot = new ModelSlot();
    const old = await loadTestModel('models:/taxi-ride-duration@slow', FIXTURE_REGISTRY);
    const next = await loadTestModel('models:/taxi-ride-duration@base', FIXTURE_REGISTRY);
    await slot.swap(old);
    const columns = tripsToColumns([{ PULocationID: 100, DOLocationID: 10, trip_distance: 2, pickup: undefined }], Date.now());
    const lease = slot.acquire()!;
    const pending = lease.model.run(columns, 1);

    const swapped = slot.swap(next);
    const durations = (await pending).duration;
    slot.release(lease);

    expect(durations[0]).toBeCloseTo(2 + 3 * 2 + 0.01 * 100 + 0.001 * 10, 4);
    expect(await swapped).toBe(old);
    await expect(old.run(columns, 1)).rejects.toThrow();
    expect((await next.run(columns, 1)).duration[0]).toBeCloseTo(durations[0], 4);
    await slot.close();
  });
});
