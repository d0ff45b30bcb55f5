import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { spawnServer } from '../support/service-process.js';

const READY = 'model loaded and warmed up; ready';

/** What onnxruntime's telemetry leaves: an event store and device id under HOME, files in the temp dir. */
function telemetryTraces(home: string, temp: string): string[] {
  const traces = readdirSync(temp).filter((name) => name === '.ses' || name.startsWith('mat-debug-'));
  if (existsSync(join(home, '.cache', 'Microsoft'))) traces.push('~/.cache/Microsoft');
  return traces;
}

describe("onnxruntime's telemetry", () => {
  test('When the service loads its model with ORT_DISABLE_TELEMETRY unset, then onnxruntime leaves no telemetry files in HOME or the temp dir', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ort-home-'));
    const temp = mkdtempSync(join(tmpdir(), 'ort-temp-'));
    const server = spawnServer({ HOME: home, TMPDIR: temp, LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0' });
    try {
      await server.waitForLine((l) => l.msg === READY, 'ready');
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);

      expect(telemetryTraces(home, temp)).toEqual([]);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      rmSync(home, { recursive: true, force: true });
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
