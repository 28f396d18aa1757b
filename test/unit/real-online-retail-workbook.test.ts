/**
 * The reference figures of the real UCI workbook (../shared/data/SOURCE.md). The file lives
 * outside the project and is never copied in: CI must have it, a fresh checkout may not.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';

const REAL_WORKBOOK = resolve(__dirname, '../../../shared/data/online-retail.xlsx');
const available = existsSync(REAL_WORKBOOK);

describe('the real UCI Online Retail workbook', () => {
  if (!available && process.env.CI === 'true') {
    it('is present in CI', () => {
      throw new Error(`${REAL_WORKBOOK} is missing: CI must run against the real workbook`);
    });
    return;
  }
  if (!available) {
    // Jest does not print the names of skipped tests in a skipped file: say it here.
    console.warn(`Skipping the real-workbook test: ${REAL_WORKBOOK} not found (set CI=true to make this a failure).`);
    it.skip(`previews to the reference figures (skipped: ${REAL_WORKBOOK} not found)`, () => undefined);
    return;
  }

  it('previews to the reference figures', async () => {
    const preview = await previewWorkbook({ filePath: REAL_WORKBOOK, displayName: 'online-retail.xlsx' });
    expect(preview.report).toEqual({
      rowsRead: 541_909,
      rowsKept: 397_884,
      rowsDropped: {
        missingCustomerId: 135_080,
        missingInvoiceNo: 0,
        cancellation: 8_905,
        nonPositiveQuantity: 0,
        nonPositiveUnitPrice: 40,
      },
    });
    expect({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases }).toEqual({
      customers: 4_338,
      low: 3_466,
      high: 872,
      purchases: 18_532,
    });
    expect(preview.topCustomers.slice(0, 3)).toEqual([
      { customerId: 12748, purchaseCount: 209 },
      { customerId: 14911, purchaseCount: 201 },
      { customerId: 17841, purchaseCount: 124 },
    ]);
  });
});
