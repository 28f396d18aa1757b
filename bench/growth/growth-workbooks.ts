/**
 * Real workbooks of a given number of customers, written by the generator (lib/workbook/
 * generate-workbook.ts) and cached in .stack/bench/, for the growth bench and the polars → MySQL
 * anchor. Past Excel's 1,048,576 rows they go on to more sheets, as exports split by size do.
 *
 * The shape is the same at every size, so time per customer can be compared: invoices go to
 * customers uniformly (customerSkew 1) from a pool sized so that about the asked number end up
 * with a kept purchase, one line per invoice (meanLinesPerInvoice 1: the rows that cost the reader
 * and the staging are the pairs), about 2.5 kept invoices per customer of the pool (Poisson: about
 * 4% High Frequency), and the generator's usual dirt (guests, cancellations, bad quantities and
 * prices, numbers stored as text). The figures to expect are the generator's ground truth, kept
 * beside the workbook as JSON.
 *
 *   npx tsx bench/growth/growth-workbooks.ts 100000 1000000 2000000   (generates what is missing)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';

const PROJECT = resolve(__dirname, '..', '..');
export const GROWTH_DIR = join(PROJECT, '.stack', 'bench');
const SEED = 18;
/** Kept invoices per customer of the pool, on average. */
const INVOICES_PER_POOL_CUSTOMER = 2.5;
/** Share of the pool with at least one kept invoice: 1 - e^-2.5. */
const POOL_COVERAGE = 1 - Math.exp(-INVOICES_PER_POOL_CUSTOMER);
/**
 * Rows per kept invoice at one line per invoice: about 63% of invoices are kept (16% are
 * cancellations of 1 to 4 lines, a quarter of the rest guests'), measured 1.98 on 200,000 rows.
 */
const ROWS_PER_KEPT_INVOICE = 1.98;

/**
 * The audit limits a run of these workbooks sets off (`segment run --audit NAME=off`; the audit
 * step still runs, with minCustomers): the generator spaces invoices 1 to 45 minutes apart, so
 * at millions of invoices the newest is decades ahead (maxDaysAhead); one line per invoice makes
 * the cancellations' 1 to 4 lines about half the rows dropped (maxDroppedPercent, 50); and a bench
 * that alternates sizes shrinks and moves most of the published result from run to run.
 */
export const GROWTH_AUDIT_ARGS = ['maxDaysAhead', 'maxDroppedPercent', 'maxShrinkPercent', 'maxMovedPercent', 'maxHighShareShiftPoints'].flatMap((check) => ['--audit', `${check}=off`]);

/**
 * The worker's and CLI's settings for these workbooks: a run may inflate 2 GiB of sheet XML by
 * default (WORKBOOK_MAX_DECOMPRESSED_BYTES), and the two-million-customer workbook's 11 sheets are
 * about 4 GiB, refused at its sixth sheet. 8 GiB here.
 */
export const GROWTH_ENV = { WORKBOOK_MAX_DECOMPRESSED_BYTES: String(8 * 1024 ** 3) };

export interface GrowthWorkbook {
  /** The size asked for; `expected.customers` is what the generator actually wrote. */
  target: number;
  path: string;
  expected: Pick<GeneratedWorkbook, 'rowsRead' | 'rowsKept' | 'customers' | 'low' | 'high' | 'purchases' | 'sheets'>;
  /** How long generating it took, when this call generated it. */
  generatedSeconds?: number;
}

export function growthWorkbookSpec(target: number) {
  const customers = Math.round(target / POOL_COVERAGE);
  return { customers, rows: Math.round(customers * INVOICES_PER_POOL_CUSTOMER * ROWS_PER_KEPT_INVOICE), seed: SEED, meanLinesPerInvoice: 1, customerSkew: 1 };
}

/** The workbook of about `target` customers, generated into .stack/bench/ the first time (minutes at a million). */
export async function growthWorkbook(target: number, log: (line: string) => void = console.log): Promise<GrowthWorkbook> {
  mkdirSync(GROWTH_DIR, { recursive: true });
  const spec = growthWorkbookSpec(target);
  const name = `growth-${target}-customers-seed-${spec.seed}`;
  const path = join(GROWTH_DIR, `${name}.xlsx`);
  const truthPath = join(GROWTH_DIR, `${name}.json`);
  if (existsSync(path) && existsSync(truthPath)) return { target, path, expected: JSON.parse(readFileSync(truthPath, 'utf8')) };
  log(`generating ${path}: ${spec.rows.toLocaleString('en')} rows over a pool of ${spec.customers.toLocaleString('en')} customers (once; cached)`);
  const started = performance.now();
  const generated = await generateWorkbook({ outPath: path, ...spec });
  const generatedSeconds = (performance.now() - started) / 1000;
  const { rowsRead, rowsKept, customers, low, high, purchases, sheets } = generated;
  const expected = { rowsRead, rowsKept, customers, low, high, purchases, sheets };
  writeFileSync(truthPath, `${JSON.stringify(expected)}\n`);
  log(`  ${generatedSeconds.toFixed(0)} s: ${customers.toLocaleString('en')} customers, ${sheets.length} sheet(s)`);
  return { target, path, expected, generatedSeconds };
}

if (require.main === module) {
  (async () => {
    for (const target of process.argv.slice(2).map(Number)) await growthWorkbook(target);
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
