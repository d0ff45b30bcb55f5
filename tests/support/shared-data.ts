/**
 * The shared, read-only TLC data beside the checkout (docs/testing.md, "Data for tests and training").
 * Tests that need it call requireSharedData in a hook or test, never at collection, so a checkout
 * without it fails those tests with a message naming the missing path.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `../shared/data` from the repository root; only data/ is read, never holdout/. */
export const SHARED_DATA = resolve(import.meta.dirname, '../../../shared/data');

/** Throws naming every missing file of `files` (relative to SHARED_DATA). */
export function requireSharedData(files: readonly string[]): void {
  const missing = files.map((f) => join(SHARED_DATA, f)).filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `this test needs the shared TLC data, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (docs/testing.md, "Data for tests and training")`,
    );
  }
}
