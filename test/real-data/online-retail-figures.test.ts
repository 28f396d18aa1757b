/**
 * The reference figures of the real UCI workbook, worked out in the test from the same rows as CSV
 * (../shared/data/online-retail.csv.gz) with code that shares nothing with the reader or the
 * cleaning rules (test/support/plain-segmentation.ts, tested in
 * test/unit/plain-reference-counter.test.ts). The files live outside the project and are
 * never copied in: CI must have them, a fresh checkout may not. No server, but both files read
 * whole: the real-data project's (jest.config.js), not the unit layer's.
 */
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX, onlineRetailReference } from '../support/shared-data';

describeWithOnlineRetail(
  'the real UCI Online Retail workbook',
  () => {
    it('the plain counter reads the CSV as SOURCE.md measured it', async () => {
      // ../shared/data/SOURCE.md's own checks of the file, made when it was assembled: a parser that split a
      // quoted description would miss them.
      const reference = await onlineRetailReference();
      expect(reference.rowsRead).toBe(541_909);
      expect(reference.rowsDropped.missingCustomerId).toBe(135_080);
    });

    it('previews to the figures worked out from the CSV', async () => {
      const reference = await onlineRetailReference();
      const preview = await previewWorkbook({ filePath: ONLINE_RETAIL_XLSX, displayName: 'online-retail.xlsx' });
      expect(preview.report).toEqual({
        rowsRead: reference.rowsRead,
        rowsKept: reference.rowsKept,
        rowsDropped: reference.rowsDropped,
        newestInvoiceDate: reference.newestInvoiceDate,
      });
      expect({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases }).toEqual({
        customers: reference.customers,
        low: reference.low,
        high: reference.high,
        purchases: reference.purchases,
      });
      const busiest = [...reference.purchaseCounts]
        .sort(([idA, a], [idB, b]) => b - a || idA - idB)
        .slice(0, 3)
        .map(([customerId, purchaseCount]) => ({ customerId, purchaseCount }));
      expect(preview.topCustomers.slice(0, 3)).toEqual(busiest);
    });
  },
  [ONLINE_RETAIL_XLSX, ONLINE_RETAIL_CSV_GZ],
);
