/**
 * Vitest global setup: the test processes get a temporary directory of this run as TMPDIR, so nothing
 * a test creates lands in the machine's temp dir, and the run fails when a test leaves anything there
 * (docs/testing.md). Removed at the end, whatever is in it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What may stay until the end: the services' default MODEL_CACHE_DIR (shared by the services tests start
 * without one of their own, within this run only) and tsx's compile cache (`tsx-<uid>`, written by the
 * CLIs tests run through tsx).
 */
const EXPECTED = [/^taxi-ride-duration-models$/, /^tsx-\d+$/];

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'taxi-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = readdirSync(root).filter((name) => !EXPECTED.some((pattern) => pattern.test(name)));
    rmSync(root, { recursive: true, force: true });
    if (left.length > 0) {
      // why not throw: vitest reports an error in a global teardown but still exits 0
      console.error(`FAIL: tests left ${left.join(', ')} in their temporary directory (${root})`);
      process.exitCode = 1;
    }
  };
}
