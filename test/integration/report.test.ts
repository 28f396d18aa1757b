/**
 * `segment report` on real runs: the run customer_segments holds (or one named by workflow id),
 * what it read, its data quality, segment sizes and PurchaseCount histogram, and the customers
 * who changed category since the previous run, in the terminal, as JSON and as one HTML page
 * that loads nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { TABLES } from '../../lib/tables';
import { segment } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(120_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
const workbook = path.join(dataDir, 'exports', 'online-retail.xlsx');
let env: TestEnvironment;
let expected: GeneratedWorkbook;
/** The same export twice: at the default threshold 5, then at 10 (customers with 6 to 10 invoices move to Low). */
let first: any;
let second: any;

beforeAll(async () => {
  env = await createTestEnvironment('report', { dataDir });
  await env.startWorker();
  expected = await generateWorkbook({ outPath: workbook, rows: 8_000, seed: 41 });
});

afterAll(async () => {
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('before any run has published, report says so and how to name a run', async () => {
  await expect(segment(['report'], env.env)).rejects.toThrow(/no run has published to customer_segments yet/);
  first = (await segment(['run', '--file', workbook, '--wait', '--json'], env.env)).lastJson;
  // The threshold changes on purpose, so categories move: published without the audit's checks.
  second = (await segment(['run', '--file', workbook, '--threshold', '10', '--no-audit', '--wait', '--json'], env.env)).lastJson;
  expect(second.high).toBeLessThan(first.high);
});

test('--json: the published run, its file, data quality, segments, histogram and who changed category', async () => {
  const { lastJson: report } = await segment(['report', '--json'], env.env);
  expect(report.run).toMatchObject({ workflowId: second.workflowId, runId: second.runId, status: 'completed', threshold: 10 });
  expect(report.published).toBe(true);
  expect(report.run.files).toEqual([expect.objectContaining({ file: 'exports/online-retail.xlsx', size: fs.statSync(workbook).size, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
  expect(report.dataQuality).toMatchObject({ rowsRead: expected.rowsRead, rowsKept: expected.rowsKept, rowsDropped: expected.rowsDropped });
  expect(report.categories).toEqual([
    { FrequencyCategory: 'Low Frequency', Customers: second.low },
    { FrequencyCategory: 'High Frequency', Customers: second.high },
  ]);

  // Each bin holds exactly the customers of customer_segments with a PurchaseCount in its range.
  const counts: number[] = await env.db(TABLES.segments).pluck('PurchaseCount');
  for (const bin of report.histogram) {
    expect(bin.customers).toBe(counts.filter((count) => count >= bin.from && count <= bin.to).length);
    expect(bin.category).toBe(bin.to <= 10 ? 'Low Frequency' : 'High Frequency');
  }
  expect(report.histogram.map((bin: { label: string }) => bin.label).slice(0, 6)).toEqual(['1', '2', '3', '4', '5', '6–10']);
  expect(report.histogram[report.histogram.length - 1].to).toBeGreaterThanOrEqual(Math.max(...counts));

  expect(report.previousRun).toMatchObject({ workflowId: first.workflowId, threshold: 5 });
  expect(report.changes).toEqual({ lowToHigh: 0, highToLow: first.high - second.high, newCustomers: 0, goneCustomers: 0 });
  expect(report.moved).toHaveLength(first.high - second.high);
  for (const customer of report.moved) {
    expect(customer).toMatchObject({ Before: 'High Frequency', After: 'Low Frequency' });
    expect(customer.PurchasesAfter).toBe(customer.PurchasesBefore);
    expect(customer.PurchasesAfter).toBeGreaterThan(5);
    expect(customer.PurchasesAfter).toBeLessThanOrEqual(10);
  }
});

test('a run named by workflow id: the earlier one, no longer published, with no run before it', async () => {
  const { lastJson: report } = await segment(['report', first.workflowId, '--json'], env.env);
  expect(report.run).toMatchObject({ workflowId: first.workflowId, threshold: 5 });
  expect(report.published).toBe(false);
  expect(report.categories.map((category: { Customers: number }) => category.Customers)).toEqual([first.low, first.high]);
  expect(report.previousRun).toBeNull();
  expect(report.moved).toEqual([]);
  await expect(segment(['report', 'no-such-run'], env.env)).rejects.toThrow(/no run "no-such-run"/);
});

test('in the terminal: the run, the file, the data quality table, the segments, the histogram and the changes', async () => {
  const { stdout } = await segment(['report', '--limit', '3'], env.env);
  const lines = stdout.split('\n');
  expect(lines[0]).toBe(`Run ${second.workflowId} (run key ${second.runId}): completed, its result is in customer_segments`);
  expect(stdout).toContain('read exports/online-retail.xlsx: ');
  const number = (value: number) => value.toLocaleString('en-US');
  expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^read\\s+${number(expected.rowsRead)}\\s+100\\.0%$`)));
  expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^kept\\s+${number(expected.rowsKept)}\\s`)));
  expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^dropped: no CustomerID\\s+${number(expected.rowsDropped.missingCustomerId)}\\s`)));
  expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^High Frequency\\s+${number(second.high)}\\s`)));
  // Histogram: a bar per bin, the longest one 40 characters, and the threshold between 6–10 and 11–20.
  const bars = lines.filter((line) => /^\s*[\d–]+\s{2}[█▏▎▍▌▋▊▉ ]+\s+[\d,]+\s+[\d.]+%$/.test(line));
  expect(bars.length).toBeGreaterThanOrEqual(7);
  expect(bars.some((line) => line.includes('█'.repeat(40)))).toBe(true);
  const threshold = lines.findIndex((line) => line.includes('above: Low Frequency (at most 10)'));
  expect(lines[threshold - 1]).toMatch(/^\s*6–10 /);
  expect(lines[threshold + 1]).toMatch(/^\s*11–20 /);
  expect(stdout).toContain(`Changed category since the previous run, ${first.workflowId}`);
  expect(stdout).toContain(`0 Low → High, ${number(first.high - second.high)} High → Low; 0 new customers, 0 no longer in the export`);
  expect(stdout).toContain(`(the 3 biggest changes of ${number(first.high - second.high)};`);

  const moved = await segment(['report', '--moved'], env.env);
  expect(moved.stdout).not.toContain('Data quality');
  expect(moved.stdout).toContain('High → Low');
});

test('--html writes one self-contained page: the same figures, an inline SVG chart, nothing to fetch', async () => {
  const out = path.join(dataDir, 'reports', 'report.html');
  const { stdout } = await segment(['report', '--html', out], env.env);
  expect(stdout.trim()).toBe(`wrote ${out}`);
  const html = fs.readFileSync(out, 'utf8');
  expect(html).toContain(second.workflowId);
  expect(html).toContain('exports/online-retail.xlsx');
  expect(html).toMatch(/<svg class="chart"[^>]*>.*<rect /s);
  expect(html).toContain(`<strong>${(first.high - second.high).toLocaleString('en-US')}</strong> High → Low`);
  // No script, no stylesheet or image from elsewhere: the only URL is the SVG namespace.
  expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=/i);
  expect(html.match(/https?:\/\/[^"\s)]+/g)).toEqual(['http://www.w3.org/2000/svg']);
});
