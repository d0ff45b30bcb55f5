import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../support/app.js';
import { childEnv } from '../support/child-env.js';

// why: an onnxruntime session of the embedded models that is never released keeps 12.5 MB of RSS
// (measured: 10 sessions created alternately from v1 and v2, RSS after GC), so leaking every swapped-out
// session would add about 500 MB between swap 10 and swap 50. 40 MB catches a leak of one session in
// twelve, yet leaves room for allocator and JIT noise (measured growth over those 40 swaps: about 5 MB).
const GROWTH_BOUND_MB = 40;

describe('memory over repeated swaps', () => {
  test('When the model is swapped 50 times, then RSS after GC does not grow beyond the bound after warm-up', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'tests/support/swap-memory-child.ts', '50'],
      {
        cwd: REPO_ROOT,
        env: childEnv(),
        maxBuffer: 1024 * 1024,
      },
    );
    const { samples, served } = JSON.parse(stdout.trim().split('\n').pop()!) as {
      samples: { swaps: number; rssMb: number }[];
      served: string;
    };
    console.log(`RSS after GC by swap count: ${samples.map((s) => `${s.swaps}: ${s.rssMb} MB`).join(', ')}`);

    const warm = samples.find((s) => s.swaps === 10)!;
    const last = samples.at(-1)!;
    expect(last.swaps).toBe(50);
    expect(served).toBe('taxi-ride-duration/1');
    expect(last.rssMb - warm.rssMb).toBeLessThan(GROWTH_BOUND_MB);
  }, 180_000);
});
