/**
 * The real UCI workbook lives in ../shared/data, beside the project, never inside it. Under CI
 * a missing file fails the suite; on a laptop without it those tests are skipped, loudly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';

// TEST_SHARED_DATA_DIR points elsewhere, e.g. at a missing folder to see the CI failure.
export const SHARED_DATA_DIR = process.env.TEST_SHARED_DATA_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
export const ONLINE_RETAIL_XLSX = path.join(SHARED_DATA_DIR, 'online-retail.xlsx');

/**
 * `describe` when the workbook is there. Under CI=true a missing workbook is a failing test;
 * elsewhere the block is skipped with a warning (jest does not list skipped tests' names).
 */
export function describeWithOnlineRetail(name: string, body: () => void): void {
  if (fs.existsSync(ONLINE_RETAIL_XLSX)) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('has the real Online Retail workbook', () => {
        throw new Error(`${ONLINE_RETAIL_XLSX} is missing: CI must run the tests on the real Online Retail workbook`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": ${ONLINE_RETAIL_XLSX} not found (under CI=true this fails).`);
    describe.skip(`${name} (skipped: ${ONLINE_RETAIL_XLSX} not found)`, body);
  }
}
