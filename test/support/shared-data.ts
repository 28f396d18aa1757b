/**
 * The real UCI workbook lives in ../shared/data, beside the project, never inside it. Under CI
 * a missing file fails the suite; on a laptop without it those tests are skipped, loudly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { plainFigures, readPlainCsvGz, type PlainFigures } from './plain-segmentation';

// TEST_SHARED_DATA_DIR points elsewhere, e.g. at a missing folder to see the CI failure.
export const SHARED_DATA_DIR = process.env.TEST_SHARED_DATA_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
export const ONLINE_RETAIL_XLSX = path.join(SHARED_DATA_DIR, 'online-retail.xlsx');
/** The same rows as CSV: where the reference figures are worked out, apart from the project's reader. */
export const ONLINE_RETAIL_CSV_GZ = path.join(SHARED_DATA_DIR, 'online-retail.csv.gz');

/**
 * `describe` when the files are there (by default the workbook). Under CI=true a missing file is
 * a failing test; elsewhere the block is skipped with a warning (jest does not list skipped
 * tests' names).
 */
export function describeWithOnlineRetail(name: string, body: () => void, files: string[] = [ONLINE_RETAIL_XLSX]): void {
  const missing = files.filter((file) => !fs.existsSync(file));
  if (missing.length === 0) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('has the real Online Retail data', () => {
        throw new Error(`${missing.join(', ')} missing: CI must run the tests on the real Online Retail data`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": ${missing.join(', ')} not found (under CI=true this fails).`);
    describe.skip(`${name} (skipped: ${missing.join(', ')} not found)`, body);
  }
}

let reference: Promise<PlainFigures> | undefined;

/**
 * The reference figures of the real data (rows dropped by reason, customers, Low and High, each
 * customer's PurchaseCount), worked out from online-retail.csv.gz by test/support/plain-segmentation.ts,
 * which shares no code with the reader or the cleaning rules. Read once per test file.
 */
export function onlineRetailReference(): Promise<PlainFigures> {
  reference ??= plainFigures(readPlainCsvGz(ONLINE_RETAIL_CSV_GZ));
  return reference;
}
