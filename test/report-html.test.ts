// The HTML report in a real browser: Debian's headless Chromium driven by playwright-core (never a downloaded
// browser). The page renders offline, every chart is an SVG with content, the console stays clean, nothing is
// fetched, and a screenshot is taken (written to a temp dir and checked for size).
// Skips with a reason where /usr/bin/chromium is absent (.ci/run installs Debian's `chromium` package).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etok, repoRoot, tempDir } from './helpers/run-etok.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(
    `report-html: skipped — ${CHROMIUM} is absent (apt-get install --no-install-recommends chromium)`,
  );

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type Browser = import('playwright-core').Browser;

describe.skipIf(!haveChromium)(`HTML report in headless Chromium (${CHROMIUM})`, () => {
  let browser: Browser;
  const dir = tempDir('etok-html-');
  const html = join(dir, 'r.html');

  beforeAll(async () => {
    const r = etok([
      'report',
      join(repoRoot, 'test', 'fixtures', 'report-levers.json'),
      '--format',
      'html',
      '--facility-power',
      '1000',
      '--pue',
      '1.25',
      '--util',
      '0.6',
      '--out',
      html,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders offline with every chart present and non-empty, and a clean console', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (req) => requests.push(req.url()));
    const url = pathToFileURL(html).href;
    await page.goto(url, { waitUntil: 'load' });
    expect(await page.title()).toBe('etok energy disclosure');
    expect(await page.locator('.dim').count()).toBe(6);
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          key: f.getAttribute('data-chart'),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          shapes: svg ? svg.querySelectorAll('path, rect, circle, polyline').length : 0,
          texts: svg ? svg.querySelectorAll('text').length : 0,
        };
      }),
    );
    expect(charts.map((c) => c.key)).toEqual([
      'joules-vs-context',
      'phi',
      'attribution',
      'power-timeline',
      'roofline',
    ]);
    for (const c of charts) {
      expect(c.width, c.key ?? '').toBeGreaterThan(400);
      expect(c.height, c.key ?? '').toBeGreaterThan(150);
      expect(c.shapes, c.key ?? '').toBeGreaterThan(10);
      expect(c.texts, c.key ?? '').toBeGreaterThan(3);
    }
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  });

  it('screenshot: a full page of the report', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(pathToFileURL(html).href);
    const png = join(dir, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    await page.close();
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    expect(width).toBe(1200);
    expect(height).toBeGreaterThan(2500); // six dimensions, five charts and the tables
    expect(statSync(png).size).toBeGreaterThan(100_000);
  });
});
