import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { anchorsOf, readDoc, repoRoot, slugOf } from '../support/markdown.js';

interface RuleFile {
  groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test?: { exp_alerts: { exp_annotations: Record<string, string> }[] }[] }[];
}

describe('docs/operations.md alerts', () => {
  test('When an alert is defined, then docs/operations.md has a section for it (the runbook anchor)', () => {
    const rules = parse(readFileSync(join(repoRoot, 'k8s/prometheus/alert-rules.yaml'), 'utf8')) as RuleFile;
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    const anchors = anchorsOf(readDoc('docs/operations.md'));

    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.filter((a) => !anchors.has(slugOf(a)))).toEqual([]);
  });

  test('When an alert fires, then its runbook_url annotation points at its section of docs/operations.md (and promtool tests expect it)', () => {
    const rules = parse(readFileSync(join(repoRoot, 'k8s/prometheus/alert-rules.yaml'), 'utf8')) as RuleFile;
    const tests = parse(readFileSync(join(repoRoot, 'k8s/prometheus/alert-rules.test.yaml'), 'utf8')) as RuleTests;
    const alerting = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    const expected = tests.tests
      .flatMap((t) => t.alert_rule_test ?? [])
      .flatMap((t) => t.exp_alerts.map((a) => a.exp_annotations.runbook_url));

    expect(alerting.map((r) => r.annotations?.runbook_url)).toEqual(alerting.map((r) => `docs/operations.md#${slugOf(r.alert!)}`));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.filter((url) => !url?.startsWith('docs/operations.md#'))).toEqual([]);
  });
});
