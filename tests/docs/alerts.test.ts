import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { anchorsOf, readDoc, repoRoot, slugOf } from '../support/markdown.js';

interface RuleFile {
  groups: { rules: { alert?: string }[] }[];
}

describe('docs/operations.md alerts', () => {
  test('When an alert is defined, then docs/operations.md has a section for it (the runbook anchor)', () => {
    const rules = parse(readFileSync(join(repoRoot, 'k8s/prometheus/alert-rules.yaml'), 'utf8')) as RuleFile;
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    const anchors = anchorsOf(readDoc('docs/operations.md'));

    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.filter((a) => !anchors.has(slugOf(a)))).toEqual([]);
  });
});
