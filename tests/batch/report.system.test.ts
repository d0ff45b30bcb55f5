import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, describe, expect, test } from 'vitest';
import { findSystemTool } from '../support/system-tools.js';
import { runScore, sharedMonth } from './support.js';

const CHROMIUM = findSystemTool('chromium');
const work = mkdtempSync(join(tmpdir(), 'score-report-'));
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Opens report.html in headless Chromium: console errors, failed requests, each chart's drawn elements, a screenshot. */
async function inspectReport(report: string, screenshot: string) {
  browser ??= await puppeteer.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.setViewport({ width: 800, height: 1200 });
  await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
  const charts = await page.$$eval('svg.chart', (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      const box2 = (e: unknown) => (e as { getBBox(): { width: number; height: number } }).getBBox();
      const drawn = [...svg.querySelectorAll('rect:not(.mark), path')].filter((e) => box2(e).width > 0 || box2(e).height > 0);
      return { id: svg.getAttribute('data-chart'), width: box.width, height: box.height, drawn: drawn.length };
    }),
  );
  await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
  await page.close();
  return { problems, charts, requests };
}

describe.skipIf(!CHROMIUM)(`report.html${CHROMIUM ? '' : ' (skipped: install chromium, apt-get install -y chromium)'}`, () => {
  test('When a scored month is opened in headless Chromium, then it loads nothing from the network, logs no error and draws every chart', async () => {
    const out = join(work, 'out');
    const run = await runScore(['--data', sharedMonth('green_tripdata_2021-03.parquet'), '--output', out]);
    expect(run.code, run.stderr).toBe(0);
    const report = join(out, 'taxi_type=green/year=2021/month=03/report.html');

    const { problems, charts, requests } = await inspectReport(report, join(work, 'report.png'));

    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    const ids = charts.map((c) => c.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'rmse-by-day',
        'trips-by-day',
        'drift-PULocationID',
        'drift-prediction',
        'histogram-trip_distance',
        'histogram-prediction',
      ]),
    );
    expect(ids).toHaveLength(2 + 6 + 6);
    for (const c of charts) {
      expect(c.width, c.id!).toBeGreaterThan(300);
      expect(c.drawn, c.id!).toBeGreaterThan(0);
    }
    expect(charts.find((c) => c.id === 'rmse-by-day')!.drawn).toBeGreaterThanOrEqual(31);
    expect(statSync(join(work, 'report.png')).size).toBeGreaterThan(20_000);
  }, 300_000);
});
