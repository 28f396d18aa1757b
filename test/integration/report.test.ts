/**
 * `segment report` on real runs: the run customer_segments holds (or one named by workflow id),
 * what it read, its data quality, segment sizes and PurchaseCount histogram, the RFM segments with
 * their Monetary and the recency × frequency grid, and the customers who changed category or RFM
 * segment since the previous published run, in the terminal, as JSON and as one HTML page that
 * loads nothing. Every figure is checked against the run's history in MySQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { readRfmRules, segmentOf } from '../../lib/segmentation/rfm-rules';
import { TABLES } from '../../lib/tables';
import { segment, segmentExit } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(120_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
const workbook = path.join(dataDir, 'exports', 'online-retail.xlsx');
/** The same customers (seed and count) as `workbook`, in a shorter export (older data date) and a longer one (newer); the purchases drawn differ. */
const earlierWorkbook = path.join(dataDir, 'exports', 'online-retail-earlier.xlsx');
const laterWorkbook = path.join(dataDir, 'exports', 'online-retail-later.xlsx');
const CUSTOMERS = 64;
let env: TestEnvironment;
let expected: GeneratedWorkbook;
/** The same export twice: at the default threshold 5, then at 10 (customers with 6 to 10 invoices move to Low). */
let first: any;
let second: any;

beforeAll(async () => {
  env = await createTestEnvironment('report', { dataDir });
  await env.startWorker();
  expected = await generateWorkbook({ outPath: workbook, rows: 8_000, seed: 41, customers: CUSTOMERS });
});

/** Exact decimal text (two decimals) as cents. */
const cents = (text: string) => BigInt(text.replace('.', ''));
const sumOf = (texts: string[]) => texts.reduce((total, text) => total + cents(text), 0n);

/** The history's segment moves between two runs, counted by MySQL: `From|To` → customers. */
async function movesInSql(previousRunId: string, runId: string): Promise<Record<string, number>> {
  const [rows] = await env.db.raw(
    `SELECT b.RfmSegment AS \`from\`, a.RfmSegment AS \`to\`, COUNT(*) AS customers FROM ?? a JOIN ?? b ON b.CustomerID = a.CustomerID AND b.RunId = ?
      WHERE a.RunId = ? AND a.RfmSegment <> b.RfmSegment GROUP BY b.RfmSegment, a.RfmSegment`,
    [TABLES.segmentHistory, TABLES.segmentHistory, previousRunId, runId],
  );
  return Object.fromEntries(rows.map((row: { from: string; to: string; customers: number }) => [`${row.from}|${row.to}`, Number(row.customers)]));
}

/** What a report's RFM part must say about a run, from its history: sizes, Monetary per segment and in all, the grid. */
async function expectRfmMatchesHistory(rfm: any, runId: string): Promise<void> {
  const history: Array<{ RecencyScore: number; FrequencyScore: number; RfmSegment: string; Monetary: string }> = await env.db(TABLES.segmentHistory)
    .where({ RunId: runId })
    .select('RecencyScore', 'FrequencyScore', 'RfmSegment', 'Monetary');
  const [[{ total }]] = await env.db.raw('SELECT SUM(Monetary) AS total FROM ?? WHERE RunId = ?', [TABLES.segmentHistory, runId]);
  expect(rfm.customers).toBe(history.length);
  expect(rfm.monetary).toBe(String(total));
  // Sizes add up to the customers, and each segment's Monetary (exact text) to the run's SUM(Monetary).
  expect(rfm.segments.reduce((sum: number, size: { Customers: number }) => sum + size.Customers, 0)).toBe(history.length);
  expect(sumOf(rfm.segments.map((size: { Monetary: string }) => size.Monetary))).toBe(cents(String(total)));
  for (const size of rfm.segments) {
    const members = history.filter((customer) => customer.RfmSegment === size.RfmSegment);
    expect(size.Monetary).toMatch(/^\d+\.\d{2}$/);
    expect({ segment: size.RfmSegment, customers: size.Customers, monetary: cents(size.Monetary) }).toEqual({
      segment: size.RfmSegment,
      customers: members.length,
      monetary: sumOf(members.map((customer) => customer.Monetary)),
    });
  }
  // The grid: 5 × 5 counts that add up to the customers, each the history's count of its score pair, named by the map.
  const rules = readRfmRules(dataDir, null);
  expect(rfm.grid.customers).toHaveLength(5);
  expect(rfm.grid.customers.flat()).toHaveLength(25);
  expect(rfm.grid.customers.flat().reduce((sum: number, count: number) => sum + count, 0)).toBe(history.length);
  for (let r = 1; r <= 5; r++) {
    for (let f = 1; f <= 5; f++) {
      expect([r, f, rfm.grid.customers[r - 1][f - 1]]).toEqual([r, f, history.filter((customer) => customer.RecencyScore === r && customer.FrequencyScore === f).length]);
      expect(rfm.grid.segments[r - 1][f - 1]).toBe(segmentOf(rules, r, f));
    }
  }
}

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
    // Added keys: the same data, so the same segment.
    expect(customer.SegmentAfter).toBe(customer.SegmentBefore);
  }

  // RFM: every segment of the repository's map, in its order, as of the day after the newest invoice.
  const dayAfterNewest = new Date(Date.parse(`${expected.newestInvoiceDate!.slice(0, 10)}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  expect(report.rfm).toMatchObject({ asOf: dayAfterNewest, rules: 'rules/rfm-segments.json', order: 'rules file' });
  expect(report.rfm.segments.map((size: { RfmSegment: string }) => size.RfmSegment)).toEqual(readRfmRules(dataDir, null).segments);
  expect(report.rfm.customers).toBe(second.customers);
  await expectRfmMatchesHistory(report.rfm, second.runId);
  // The same data twice: nobody changed segment.
  expect(report.segmentMoves).toEqual({ compared: true, pairs: [], customers: [] });
});

test('a run named by workflow id: the earlier one, no longer published, with no run before it', async () => {
  const { lastJson: report } = await segment(['report', first.workflowId, '--json'], env.env);
  expect(report.run).toMatchObject({ workflowId: first.workflowId, threshold: 5 });
  expect(report.published).toBe(false);
  expect(report.categories.map((category: { Customers: number }) => category.Customers)).toEqual([first.low, first.high]);
  expect(report.previousRun).toBeNull();
  expect(report.moved).toEqual([]);
  expect(report.segmentMoves).toBeNull();
  await expectRfmMatchesHistory(report.rfm, first.runId);
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
  // RFM: a line per segment of the map with its customers and Monetary (exact, grouped), then the grid.
  const { lastJson: report } = await segment(['report', '--json'], env.env);
  expect(stdout).toContain(`RFM segments, as of ${report.rfm.asOf}, map rules/rfm-segments.json`);
  for (const size of report.rfm.segments) {
    const [units, hundredths] = size.Monetary.split('.');
    const monetary = `${number(Number(units))}\\.${hundredths}`;
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${size.RfmSegment}\\s+${number(size.Customers)}\\s+[\\d.]+%\\s+${monetary}\\s+[\\d.]+%$`)));
  }
  const grid = lines.findIndex((line) => line.startsWith('Recency × frequency'));
  expect(lines[grid + 1]).toMatch(/^FrequencyScore\s+RecencyScore 1\s+RecencyScore 2\s+RecencyScore 3\s+RecencyScore 4\s+RecencyScore 5$/);
  // The top row: FrequencyScore 5, RecencyScore 1 to 5.
  expect(lines[grid + 3].trim().split(/\s+/)).toEqual(['5', ...report.rfm.grid.customers.map((byFrequency: number[]) => number(byFrequency[4]))]);
  expect(lines[grid + 7].trim().split(/\s+/)).toEqual(['1', ...report.rfm.grid.customers.map((byFrequency: number[]) => number(byFrequency[0]))]);

  expect(stdout).toContain(`Changes since the previous published run, ${first.workflowId}`);
  expect(stdout).toContain(`0 Low → High, ${number(first.high - second.high)} High → Low; 0 new customers, 0 no longer in the export`);
  expect(stdout).toContain('no customer changed RFM segment');
  expect(stdout).toContain(`(the 3 biggest changes of ${number(first.high - second.high)};`);

  const moved = await segment(['report', '--moved'], env.env);
  expect(moved.stdout).not.toContain('Data quality');
  expect(moved.stdout).not.toContain('RFM segments, as of');
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

test('--html: the RFM segments with their Monetary, and the heat map of 25 cells with the grid counts', async () => {
  const { lastJson: report } = await segment(['report', '--json'], env.env);
  const out = path.join(dataDir, 'reports', 'rfm.html');
  await segment(['report', '--html', out], env.env);
  const html = fs.readFileSync(out, 'utf8');
  const cells = [...html.matchAll(/<td class="cell[^"]*" data-recency="(\d)" data-frequency="(\d)" data-customers="(\d+)" data-segment="([^"]*)"/g)];
  expect(cells).toHaveLength(25);
  for (const [, r, f, customers, segmentName] of cells) {
    expect(Number(customers)).toBe(report.rfm.grid.customers[Number(r) - 1][Number(f) - 1]);
    expect(segmentName.replace(/&#39;/g, "'")).toBe(report.rfm.grid.segments[Number(r) - 1][Number(f) - 1]);
  }
  expect(cells.reduce((sum, cell) => sum + Number(cell[3]), 0)).toBe(report.rfm.customers);
  for (const size of report.rfm.segments) expect(html).toContain(`<td>${size.RfmSegment.replace(/'/g, '&#39;')}</td><td class="n">${size.Customers.toLocaleString('en-US')}</td>`);
  expect(html).toContain('No customer changed RFM segment.');
});

test('moves between RFM segments since the previous published run: an earlier export that never published is not it', async () => {
  // A shorter export of the same customers (an older data date), started later: superseded by the published run's newer data, never published.
  await generateWorkbook({ outPath: earlierWorkbook, rows: 5_000, seed: 41, customers: CUSTOMERS });
  const earlier = await segmentExit(['run', '--file', earlierWorkbook, '--no-audit', '--wait', '--json'], env.env);
  expect(earlier.lastJson).toMatchObject({ status: 'superseded' });
  expect(await env.db(TABLES.runs).where({ run_id: earlier.lastJson.runId }).first('published_at')).toEqual({ published_at: null });
  // A longer export of the same customers (newer dates, other purchases): customers move between segments.
  await generateWorkbook({ outPath: laterWorkbook, rows: 10_000, seed: 41, customers: CUSTOMERS });
  const later = (await segment(['run', '--file', laterWorkbook, '--no-audit', '--wait', '--json'], env.env)).lastJson;
  expect(later.status).toBe('completed');

  const { lastJson: report } = await segment(['report', '--json'], env.env);
  expect(report.run.runId).toBe(later.runId);
  // The baseline of both comparisons: `second`, published, not `earlier`, started since but never published.
  expect(report.previousRun).toMatchObject({ runId: second.runId, workflowId: second.workflowId });
  await expectRfmMatchesHistory(report.rfm, later.runId);

  const inSql = await movesInSql(second.runId, later.runId);
  expect(Object.keys(inSql).length).toBeGreaterThan(0);
  expect(report.segmentMoves.compared).toBe(true);
  expect(Object.fromEntries(report.segmentMoves.pairs.map((pair: { From: string; To: string; Customers: number }) => [`${pair.From}|${pair.To}`, pair.Customers]))).toEqual(inSql);
  const sizes = report.segmentMoves.pairs.map((pair: { Customers: number }) => pair.Customers);
  expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
  // The customers behind each pair: as many as it counts, each with both runs' rows.
  expect(report.segmentMoves.customers).toHaveLength(Object.values(inSql).reduce((sum, count) => sum + count, 0));
  const rows = async (runId: string) => new Map((await env.db(TABLES.segmentHistory).where({ RunId: runId }).select('*')).map((row) => [row.CustomerID, row]));
  const [before, after] = [await rows(second.runId), await rows(later.runId)];
  for (const customer of report.segmentMoves.customers) {
    const [was, is] = [before.get(customer.CustomerID), after.get(customer.CustomerID)];
    expect(customer).toEqual({
      CustomerID: customer.CustomerID,
      SegmentBefore: was.RfmSegment,
      SegmentAfter: is.RfmSegment,
      CategoryBefore: was.FrequencyCategory,
      CategoryAfter: is.FrequencyCategory,
      PurchasesBefore: was.PurchaseCount,
      PurchasesAfter: is.PurchaseCount,
    });
    expect(customer.SegmentAfter).not.toBe(customer.SegmentBefore);
  }
  // The category comparison has the same baseline: Low/High at 10 invoices before, at 5 now.
  const categoryChanges = [...after.values()].filter((row) => before.has(row.CustomerID) && before.get(row.CustomerID).FrequencyCategory !== row.FrequencyCategory);
  expect(report.moved).toHaveLength(categoryChanges.length);

  // In the terminal: "From → To" with its count for every pair; --moved lists who, with both segments and categories.
  const number = (value: number) => value.toLocaleString('en-US');
  const { stdout } = await segment(['report'], env.env);
  expect(stdout).toContain(`Changes since the previous published run, ${second.workflowId}`);
  expect(stdout).toContain(`  ${number(report.segmentMoves.customers.length)} customers changed RFM segment:`);
  for (const pair of report.segmentMoves.pairs) expect(stdout).toMatch(new RegExp(`^${pair.From} → ${pair.To}\\s+${number(pair.Customers)}$`, 'm'));
  const changed = new Set([...report.segmentMoves.customers, ...report.moved].map((customer: { CustomerID: number }) => customer.CustomerID));
  const moved = await segment(['report', '--moved', '--limit', '1000'], env.env);
  expect(moved.stdout).not.toContain('Data quality');
  const table = moved.stdout.split('\n').filter((line) => /^\d+\s{2}/.test(line));
  expect(table).toHaveLength(changed.size);
  const { CustomerID, SegmentBefore, SegmentAfter, CategoryBefore, CategoryAfter, PurchasesBefore, PurchasesAfter } = report.segmentMoves.customers[0];
  expect(table).toContainEqual(
    expect.stringMatching(new RegExp(`^${CustomerID}\\s+${SegmentBefore}\\s+${SegmentAfter}\\s+${CategoryBefore}\\s+${CategoryAfter}\\s+${PurchasesBefore}\\s+${PurchasesAfter}$`)),
  );
  const limited = await segment(['report', '--moved', '--limit', '2'], env.env);
  expect(limited.stdout.split('\n').filter((line) => /^\d+\s{2}/.test(line))).toHaveLength(2);
  expect(limited.stdout).toContain(`(the 2 biggest changes of ${number(changed.size)};`);

  // The HTML page: a row per pair with its count.
  const out = path.join(dataDir, 'reports', 'moves.html');
  await segment(['report', '--html', out], env.env);
  const html = fs.readFileSync(out, 'utf8');
  const escaped = (text: string) => text.replace(/'/g, '&#39;');
  for (const pair of report.segmentMoves.pairs) expect(html).toContain(`data-from="${escaped(pair.From)}" data-to="${escaped(pair.To)}" data-customers="${pair.Customers}"`);
  expect(html).toContain(`Compared with <strong>${second.workflowId}</strong>, the newest run started before this one whose result was published`);

  // The earlier export's own report: the same baseline, the published run started before it.
  const { lastJson: earlierReport } = await segment(['report', earlier.lastJson.workflowId, '--json'], env.env);
  expect(earlierReport.previousRun.runId).toBe(second.runId);
  expect(Object.fromEntries(earlierReport.segmentMoves.pairs.map((pair: { From: string; To: string; Customers: number }) => [`${pair.From}|${pair.To}`, pair.Customers]))).toEqual(
    await movesInSql(second.runId, earlier.lastJson.runId),
  );
});

test('a run from before RFM segments: no RFM part, and no segment moves against it, each saying why', async () => {
  // What rows written before migration 015 hold: no RFM values.
  await env.db(TABLES.segmentHistory)
    .where({ RunId: first.runId })
    .update({ RecencyDays: null, Monetary: null, RecencyScore: null, FrequencyScore: null, MonetaryScore: null, RfmSegment: null });
  const { lastJson: report } = await segment(['report', first.workflowId, '--json'], env.env);
  expect(report.rfm).toBeNull();
  expect(report.categories.map((category: { Customers: number }) => category.Customers)).toEqual([first.low, first.high]);
  const { stdout } = await segment(['report', first.workflowId], env.env);
  expect(stdout).toContain('RFM segments: none, the run is from before RFM segments (its history has no RfmSegment)');
  const out = path.join(dataDir, 'reports', 'before-rfm.html');
  await segment(['report', first.workflowId, '--html', out], env.env);
  const html = fs.readFileSync(out, 'utf8');
  expect(html).toContain('This run is from before RFM segments');
  expect(html).not.toContain('data-recency=');

  // `second` against it: categories compared, segments not.
  const { lastJson: secondReport } = await segment(['report', second.workflowId, '--json'], env.env);
  expect(secondReport.previousRun.runId).toBe(first.runId);
  expect(secondReport.segmentMoves).toEqual({ compared: false, pairs: [], customers: [] });
  expect(secondReport.moved).toHaveLength(first.high - second.high);
  expect(secondReport.moved[0]).toMatchObject({ SegmentBefore: null, SegmentAfter: expect.any(String) });
  const terminal = await segment(['report', second.workflowId, '--moved'], env.env);
  expect(terminal.stdout).toContain('RFM segments not compared: one of the two runs is from before RFM segments');
  expect(terminal.stdout).toMatch(/^\d+\s+–\s+\S/m);

  // Published on purpose (a rollback to it): `segment publish` says the RFM columns become empty.
  const rollback = await segment(['publish', first.workflowId, '--reason', 'test: back to a run from before RFM'], env.env);
  expect(rollback.stdout).toContain('this run is from before RFM segments: the RFM columns of customer_segments are now empty (NULL)');
  expect(await env.db(TABLES.segments).whereNotNull('RfmSegment').count({ n: '*' })).toEqual([{ n: 0 }]);
  const { lastJson: back } = await segment(['publish', second.workflowId, '--json'], env.env);
  expect(back).toMatchObject({ runId: second.runId, withoutRfm: false });
});

test("a run's own rules file orders its segments; once that file is changed or gone, the history's score pairs do", async () => {
  // Two names, the recent ones listed first: the file's order is not the grid's.
  const rulesFile = path.join(dataDir, 'rules', 'two-segments.json');
  fs.mkdirSync(path.dirname(rulesFile), { recursive: true });
  const map = { version: 1, segments: [{ segment: 'Recent', recency: '4-5', frequency: '1-5' }, { segment: 'Lapsed', recency: '1-3', frequency: '1-5' }] };
  fs.writeFileSync(rulesFile, JSON.stringify(map));
  const custom = (await segment(['run', '--file', laterWorkbook, '--rfm-rules', rulesFile, '--no-audit', '--wait', '--json'], env.env)).lastJson;

  const { lastJson: report } = await segment(['report', custom.workflowId, '--json'], env.env);
  expect(report.rfm).toMatchObject({ rules: 'rules/two-segments.json', order: 'rules file' });
  expect(report.rfm.segments.map((size: { RfmSegment: string }) => size.RfmSegment)).toEqual(['Recent', 'Lapsed']);
  expect(report.rfm.grid.segments.map((byFrequency: string[]) => byFrequency[0])).toEqual(['Lapsed', 'Lapsed', 'Lapsed', 'Recent', 'Recent']);
  // Moves from the repository's names to the run's own.
  expect(Object.fromEntries(report.segmentMoves.pairs.map((pair: { From: string; To: string; Customers: number }) => [`${pair.From}|${pair.To}`, pair.Customers]))).toEqual(
    await movesInSql(report.previousRun.runId, custom.runId),
  );

  // The same map with a description added: no longer the file the run read (its sha256 differs), so not its order.
  fs.writeFileSync(rulesFile, JSON.stringify({ ...map, description: 'edited since' }));
  expect((await segment(['report', custom.workflowId, '--json'], env.env)).lastJson.rfm.order).toBe('history');
  fs.rmSync(rulesFile);
  const { lastJson: without } = await segment(['report', custom.workflowId, '--json'], env.env);
  expect(without.rfm.order).toBe('history');
  // Lapsed holds the first score pair (recency 1, frequency 1); only pairs with customers are named now.
  expect(without.rfm.segments.map((size: { RfmSegment: string }) => size.RfmSegment).filter((name: string) => name !== 'Recent')).toEqual(['Lapsed']);
  expect(without.rfm.segments[0].RfmSegment).toBe('Lapsed');
  for (let r = 1; r <= 5; r++) {
    for (let f = 1; f <= 5; f++) {
      const count = without.rfm.grid.customers[r - 1][f - 1];
      expect([r, f, without.rfm.grid.segments[r - 1][f - 1]]).toEqual([r, f, count === 0 ? null : r >= 4 ? 'Recent' : 'Lapsed']);
    }
  }
  expect(without.rfm.segments.reduce((sum: number, size: { Customers: number }) => sum + size.Customers, 0)).toBe(custom.customers);
  const { stdout } = await segment(['report', custom.workflowId], env.env);
  expect(stdout).toContain('(in the order of their score pairs: the map rules/two-segments.json no longer reads as the run used it)');
});
