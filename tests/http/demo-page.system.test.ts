/**
 * The demo page and the API docs page in a real browser: Debian's chromium, headless, driven by
 * puppeteer-core (no browser download). .ci/run installs the chromium package.
 * UPDATE_SCREENSHOTS=1 writes docs/demo-page.png from the page as this test leaves it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { productionVersion, REPO_ROOT } from '../support/app.js';
import { startAppsService, type AppsService } from '../support/apps-service.js';

const CHROMIUM = '/usr/bin/chromium';

/** What the page functions below touch of an element. */
interface DomElement {
  value: string;
  hidden: boolean;
  innerText: string;
  dispatchEvent(event: Event): boolean;
}

describe('the demo page in headless chromium', () => {
  let app: AppsService;
  let browser: Browser;
  let page: Page;
  /** Console errors, uncaught exceptions and failed requests: a CSP violation shows up here. */
  const problems: string[] = [];

  const watch = (p: Page) => {
    p.on('console', (m) => {
      // why: the validation test makes the API answer 422 on purpose; chromium logs each 4xx fetch.
      if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
    p.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; .ci/run does)`);
    // the embedded registry's production version: the real model and its zone table
    app = await startAppsService({ REGISTRY_URI: 'file:models' });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // why: CI runs as root, where chromium refuses its sandbox; /dev/shm is small in containers.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 820, height: 1100 });
    watch(page);
    await page.goto(`${app.base}/`);
    await page.waitForSelector('body[data-ready="true"]');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  // why `DomElement`: the project compiles without the DOM library; these functions run in the page.
  const text = (selector: string) =>
    page.$eval(
      selector,
      // biome-ignore lint/performance/useDomNodeTextContent: the page is checked as a person reads it (rendered text).
      (el) => (el as DomElement).innerText,
    );
  const visible = (selector: string) => page.$eval(selector, (el) => !(el as DomElement).hidden);
  const fill = async (selector: string, value: string) => {
    await page.$eval(selector, (el) => {
      (el as DomElement).value = '';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    if (value !== '') await page.type(selector, value);
  };
  const submitAndWait = async (shown: string) => {
    await page.click('#submit');
    await page.waitForFunction(`!document.querySelector('${shown}').hidden && !document.querySelector('#submit').disabled`);
  };

  test('When a person picks two zones by name and a pickup time, then the page shows the minutes POST /predict answers for the same trip, with the interval, the model version and the curl line', async () => {
    expect(await page.$$eval('#zones option', (options) => options.length)).toBe(265);
    await fill('#pickup', 'JFK Airport');
    await fill('#dropoff', 'Midtown Center, Manhattan (161)');
    await page.$eval('#when', (el) => {
      (el as DomElement).value = '2021-03-01T08:30';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const distance = await page.$eval('#distance', (el) => (el as DomElement).value);
    expect(Number(distance)).toBeGreaterThan(10);
    expect(Number(distance)).toBeLessThan(30);
    expect(await text('#distance-note')).toContain('× 1.33');

    await submitAndWait('#result');
    const trip = { PULocationID: 132, DOLocationID: 161, trip_distance: Number(distance), pickup_datetime: '2021-03-01T08:30' };
    const res = await fetch(`${app.base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(trip),
    });
    const answer = (await res.json()) as { duration: number; duration_p10: number; duration_p90: number; model_version: string };
    expect(Number(await text('#exact'))).toBe(answer.duration);
    expect(await text('#minutes')).toBe(`≈ ${Math.round(answer.duration)} min`);
    expect(await text('#interval')).toBe(`${Math.round(answer.duration_p10)}–${Math.round(answer.duration_p90)} min (8 rides in 10)`);
    expect(await text('#result-model')).toBe(answer.model_version);
    expect(await text('#model-version')).toBe(`taxi-ride-duration/${productionVersion()}`);
    expect(await text('#curl')).toBe(`curl -s ${app.base}/predict -H 'Content-Type: application/json' -d '${JSON.stringify(trip)}'`);
    expect(await visible('#error')).toBe(false);
  });

  test('When the distance breaks the API rule or a zone is unknown, then the error is shown in words, not JSON', async () => {
    await fill('#distance', '250');
    await submitAndWait('#error');
    const error = await text('#error');
    expect(error).toBe('Distance must be a number of miles from 0 to 200, got 250.');
    expect(await visible('#result')).toBe(false);

    await fill('#pickup', 'Atlantis');
    await submitAndWait('#error');
    expect(await text('#error')).toContain('Pickup zone: “Atlantis” is not a zone we know');
    for (const shown of [error, await text('#error')]) expect(shown).not.toMatch(/[{}"]/);

    // the page as a person would leave it, for docs/demo-page.png
    await fill('#pickup', 'JFK Airport, Queens (132)');
    await fill('#distance', '');
    await page.$eval('#dropoff', (el) => el.dispatchEvent(new Event('input', { bubbles: true })));
    await submitAndWait('#result');
    if (process.env.UPDATE_SCREENSHOTS === '1') await page.screenshot({ path: join(REPO_ROOT, 'docs', 'demo-page.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  test('When /docs opens, then Swagger UI renders every operation of /openapi.json from local files under the page CSP', async () => {
    const docs = await browser.newPage();
    watch(docs);
    await docs.goto(`${app.base}/docs`);
    await docs.waitForSelector('body[data-ready="true"]');
    await docs.waitForSelector('.opblock');
    const operations = await docs.$$eval('.opblock', (blocks) => blocks.length);
    const doc = (await (await fetch(`${app.base}/openapi.json`)).json()) as { paths: Record<string, object> };
    expect(operations).toBe(Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0));
    await docs.close();
    expect(problems).toEqual([]);
  });
});
