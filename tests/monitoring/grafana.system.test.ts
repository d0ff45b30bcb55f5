/**
 * The Grafana dashboard cannot be rendered here (no Grafana), so its queries are checked where they run:
 * every PromQL expression of monitoring/grafana/dashboards/*.json against a real Prometheus that scraped
 * the service during a replay of real trips with feedback.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { runReplay } from '../../src/replay/replay.js';
import { waitFor } from '../support/ports.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { findSystemTool } from '../support/system-tools.js';
import { REPO_ROOT } from '../support/app.js';
import { startMonitoredService, type MonitoredService } from './support.js';

const grafana = join(REPO_ROOT, 'monitoring/grafana');
interface Panel {
  title: string;
  targets: { expr: string; refId: string }[];
}
const dashboards = readdirSync(join(grafana, 'dashboards')).map(
  (f) => JSON.parse(readFileSync(join(grafana, 'dashboards', f), 'utf8')) as { uid: string; panels: Panel[] },
);
/** Panels that must show data after a replay with feedback (the rest may be empty: no errors, no shedding…). */
const MUST_HAVE_DATA = /RMSE|MAE|bias|Drift|coverage|Feedback/;

test('When the provisioning files are read, then the datasource uid is the one every panel uses', () => {
  const ds = parse(readFileSync(join(grafana, 'provisioning/datasources/prometheus.yaml'), 'utf8')) as {
    datasources: { uid: string; type: string }[];
  };
  const uids = new Set(ds.datasources.map((d) => d.uid));
  for (const d of dashboards)
    for (const p of d.panels) expect(uids.has((p as unknown as { datasource: { uid: string } }).datasource.uid), p.title).toBe(true);
  expect(dashboards.flatMap((d) => d.panels).length).toBeGreaterThanOrEqual(10);
});

const prometheusBin = findSystemTool('prometheus');
describe.skipIf(prometheusBin === undefined)('Grafana dashboard queries against a real Prometheus', () => {
  let service: MonitoredService;
  let prometheus: PrometheusHandle;
  beforeAll(async () => {
    const feb = resolve(REPO_ROOT, '../shared/data/green_tripdata_2021-02.parquet');
    if (!existsSync(feb)) throw new Error(`the dashboard test needs ${feb} (the shared TLC data beside the checkout)`);
    service = await startMonitoredService({ DRIFT_MIN_TRIPS: '200' });
    prometheus = await startPrometheus(prometheusBin!, [Number(new URL(service.url).port)]);
    await runReplay({
      data: feb,
      url: service.url,
      feedbackUrl: service.url,
      rate: undefined,
      batch: 100,
      feedback: true,
      limit: 3000,
      minDistance: undefined,
      pickupTime: true,
      concurrency: 4,
      report: undefined,
    });
    // Two scrapes after the replay, so rate() and increase() have two samples of the final counts.
    await waitFor(
      async () => {
        const r = await prometheus.query('count_over_time(model_feature_drift{job="taxi-ride-duration"}[1h])');
        return r.length > 0 && Number(r[0].value[1]) >= 2 ? true : undefined;
      },
      'Prometheus to have scraped the drift gauges twice',
      60_000,
    );
  }, 180_000);
  afterAll(async () => {
    await prometheus?.stop();
    await service?.close();
  });

  test('When every panel expression is evaluated, then each parses and runs, and the accuracy, drift, feedback and coverage panels return data', async () => {
    const empty: string[] = [];
    for (const panel of dashboards.flatMap((d) => d.panels)) {
      for (const target of panel.targets) {
        const result = await prometheus.query(target.expr);
        if (MUST_HAVE_DATA.test(panel.title) && result.length === 0) empty.push(`${panel.title} / ${target.refId}: ${target.expr}`);
      }
    }
    expect(empty).toEqual([]);
  });
});
