import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { findSystemTool } from '../support/system-tools.js';

const run = promisify(execFile);
const promtool = findSystemTool('promtool');
const rulesDir = path.resolve('k8s/prometheus');

describe.skipIf(!promtool)('Prometheus alerting rules (promtool)', () => {
  test('When promtool checks the rule file, then all twelve rules are valid', async () => {
    const { stdout } = await run(promtool!, ['check', 'rules', 'alert-rules.yaml'], { cwd: rulesDir });
    expect(stdout).toContain('SUCCESS: 12 rules found');
  });

  test('When the rule unit tests run, then every alert fires exactly when expected', async () => {
    const { stdout } = await run(promtool!, ['test', 'rules', 'alert-rules.test.yaml'], { cwd: rulesDir });
    expect(stdout).toContain('SUCCESS');
  });
});
