/**
 * The HTML run report's recency × frequency heat map in a real browser (Debian's Chromium,
 * headless): two runs of the same customers, a shorter export and a longer one, so the page has moves
 * between segments. The page opens with nothing fetched; its 25 cells show the customers of each
 * pair of scores as customer_segment_history counts them, with the segment's name; the moves
 * table shows each (from, to) pair's count. A full-page screenshot lands in
 * STACK_DIR/screenshots/browser/report-heat-map.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRfmRules, segmentOf } from '../../lib/segmentation/rfm-rules';
import { TABLES } from '../../lib/tables';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { segment } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';
import { ensureChromium, launchChromium, openOffline, type Browser } from './support/chromium';
import { SCREENSHOT_DIR, screenshot } from './support/screenshots';

// A fresh machine installs Chromium first (apt-get, about half a minute).
jest.setTimeout(240_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-heat-map-'));
/** Customers to draw from (the skewed draw leaves some out). */
const CUSTOMERS = 400;
let env: TestEnvironment;
let browser: Browser;
let before: { runId: string; workflowId: string };
let after: { runId: string; workflowId: string; customers: number };

beforeAll(async () => {
  await ensureChromium((line) => process.stderr.write(`  ${line}\n`));
  env = await createTestEnvironment('report_heat_map', { dataDir });
  await env.startWorker();
  await generateWorkbook({ outPath: path.join(dataDir, 'online-retail-earlier.xlsx'), rows: 24_000, seed: 16, customers: CUSTOMERS });
  await generateWorkbook({ outPath: path.join(dataDir, 'online-retail.xlsx'), rows: 30_000, seed: 16, customers: CUSTOMERS });
  before = (await segment(['run', '--file', path.join(dataDir, 'online-retail-earlier.xlsx'), '--wait', '--json'], env.env)).lastJson;
  // More invoices of the same customers since: a bigger shop on purpose, published without the audit's checks.
  after = (await segment(['run', '--file', path.join(dataDir, 'online-retail.xlsx'), '--no-audit', '--wait', '--json'], env.env)).lastJson;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the heat map: 25 cells, each with the customers of its pair of scores and its segment; the moves per pair', async () => {
  const out = path.join(SCREENSHOT_DIR, 'report-heat-map.html');
  await segment(['report', '--html', out], env.env);
  const { page, fetched } = await openOffline(browser, out);

  const counts: Array<{ RecencyScore: number; FrequencyScore: number; customers: number }> = await env
    .db(TABLES.segmentHistory)
    .where({ RunId: after.runId })
    .groupBy('RecencyScore', 'FrequencyScore')
    .select('RecencyScore', 'FrequencyScore', env.db.raw('COUNT(*) AS customers'));
  const countOf = (r: number, f: number) => Number(counts.find((cell) => cell.RecencyScore === r && cell.FrequencyScore === f)?.customers ?? 0);
  const rules = readRfmRules(dataDir, null);

  const cells = page.locator('table.heat-map-grid td.cell');
  await cells.first().waitFor();
  expect(await cells.count()).toBe(25);
  const seen = await cells.evaluateAll((elements) =>
    elements.map((element) => ({
      recency: Number(element.getAttribute('data-recency')),
      frequency: Number(element.getAttribute('data-frequency')),
      count: element.querySelector('.count')!.textContent,
      segment: element.querySelector('.segment')!.textContent,
      background: (globalThis as unknown as { getComputedStyle(element: unknown): { backgroundColor: string } }).getComputedStyle(element).backgroundColor,
      width: element.getBoundingClientRect().width,
    })),
  );
  // Read as a person does: FrequencyScore 5 on the top row, RecencyScore 1 to 5 from left to right.
  expect(seen.map((cell) => [cell.recency, cell.frequency])).toEqual([5, 4, 3, 2, 1].flatMap((f) => [1, 2, 3, 4, 5].map((r) => [r, f])));
  for (const cell of seen) {
    expect({ r: cell.recency, f: cell.frequency, count: cell.count, segment: cell.segment }).toEqual({
      r: cell.recency,
      f: cell.frequency,
      count: countOf(cell.recency, cell.frequency).toLocaleString('en-US'),
      segment: segmentOf(rules, cell.recency, cell.frequency),
    });
    expect(cell.width).toBeGreaterThan(80);
  }
  expect(seen.reduce((sum, cell) => sum + Number(cell.count!.replace(/,/g, '')), 0)).toBe(after.customers);
  // Colour by count: the fullest cell is the darkest, an empty one the lightest.
  const darkness = (rgb: string) => 765 - rgb.match(/\d+/g)!.slice(0, 3).map(Number).reduce((sum, channel) => sum + channel, 0);
  const fullest = seen.reduce((most, cell) => (Number(cell.count!.replace(/,/g, '')) > Number(most.count!.replace(/,/g, '')) ? cell : most));
  for (const cell of seen) expect(darkness(cell.background)).toBeLessThanOrEqual(darkness(fullest.background));

  // The moves table: each pair's count, as the two runs' history has them.
  const [moves] = await env.db.raw(
    'SELECT b.RfmSegment AS `from`, a.RfmSegment AS `to`, COUNT(*) AS customers FROM ?? a JOIN ?? b ON b.CustomerID = a.CustomerID AND b.RunId = ? WHERE a.RunId = ? AND a.RfmSegment <> b.RfmSegment GROUP BY b.RfmSegment, a.RfmSegment',
    [TABLES.segmentHistory, TABLES.segmentHistory, before.runId, after.runId],
  );
  expect(moves.length).toBeGreaterThan(0);
  const shown = await page.locator('table.moves tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].slice(0, 4).map((cell) => cell.textContent)));
  expect(Object.fromEntries(shown.map(([from, , to, customers]) => [`${from}|${to}`, Number(customers!.replace(/,/g, ''))]))).toEqual(
    Object.fromEntries(moves.map((move: { from: string; to: string; customers: number }) => [`${move.from}|${move.to}`, Number(move.customers)])),
  );
  const text = await page.locator('main').innerText();
  expect(text).toContain(`Compared with ${before.workflowId}`);

  await screenshot(page, 'report-heat-map', { fullPage: true });
  expect(fetched).toEqual([]);
  await page.close();
});
